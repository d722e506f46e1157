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

  remember(id: string, value: V): V {
    if (!this.entries.has(id) && this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, value);
    return value;
  }
}
