/**
 * What never changes about the last `capacity` resources a repository read (a payment's tenant and
 * amount, a consent's tenant), so a status record can build its event without reading the row
 * again. Oldest out first; a miss is the caller's to read.
 */
export class RecentlyRead<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity = 10_000) {}

  get(id: string): V | undefined {
    return this.entries.get(id);
  }

  /** The remembered value, else `read()`'s (remembered); `read` answering undefined is an error naming `what`. */
  async getOrRead(id: string, what: string, read: () => Promise<V | undefined>): Promise<V> {
    const known = this.entries.get(id);
    if (known !== undefined) return known;
    const value = await read();
    if (value === undefined) throw new Error(`${what} ${id} not found`);
    return this.remember(id, value);
  }

  remember(id: string, value: V): V {
    if (!this.entries.has(id) && this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, value);
    return value;
  }
}
