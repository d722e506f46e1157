import type { DataSource } from 'typeorm';
import { DirectoryRepository } from './directory.repository';
import type { AspspEntity } from './entities/aspsp.entity';

/** How long the worker trusts an ASPSP row it read: the directory is reference data that changes with a deployment or a migration. */
export const ASPSP_CACHE_TTL_MS = 30_000;

/**
 * The directory, with `findAspsp` answered from memory for {@link ASPSP_CACHE_TTL_MS}: every payment
 * activity addresses its bank through the ASPSP row, which was one more query per activity
 * (docs/benchmarks.md, "2026-12-01"). A miss (unknown BIC) is not kept, so a new ASPSP is seen at once.
 * Concurrent lookups of one BIC share a single query.
 */
export class CachedDirectoryRepository extends DirectoryRepository {
  private readonly aspsps = new Map<string, { at: number; row: Promise<AspspEntity | null> }>();

  constructor(ds: DataSource, private readonly ttlMs = ASPSP_CACHE_TTL_MS, private readonly now: () => number = Date.now) {
    super(ds);
  }

  override findAspsp(bicFi: string): Promise<AspspEntity | null> {
    const cached = this.aspsps.get(bicFi);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.row;
    const row = super.findAspsp(bicFi);
    const entry = { at: this.now(), row };
    this.aspsps.set(bicFi, entry);
    row.then(
      (found) => {
        if (!found && this.aspsps.get(bicFi) === entry) this.aspsps.delete(bicFi);
      },
      () => {
        if (this.aspsps.get(bicFi) === entry) this.aspsps.delete(bicFi);
      },
    );
    return row;
  }
}
