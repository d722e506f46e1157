import type { DataSource } from 'typeorm';
import { CachedDirectoryRepository } from './cached-directory.repository';

/** A data source whose ASPSP table holds one bank, counting the queries that reach it. */
function fakeDataSource(rows: Record<string, object>) {
  const queries: string[] = [];
  const ds = {
    getRepository: () => ({
      findOneBy: async ({ bicFi }: { bicFi: string }) => {
        queries.push(bicFi);
        if (bicFi === 'BROKEN') throw new Error('connection lost');
        return rows[bicFi] ?? null;
      },
    }),
  } as unknown as DataSource;
  return { ds, queries };
}

describe('CachedDirectoryRepository', () => {
  it('answers a known ASPSP from memory until the TTL passes, one query for concurrent lookups', async () => {
    const { ds, queries } = fakeDataSource({ SANDDEB0XXX: { bicFi: 'SANDDEB0XXX', name: 'Sandbox' } });
    let now = 1_000;
    const directory = new CachedDirectoryRepository(ds, 30_000, () => now);
    const [a, b] = await Promise.all([directory.findAspsp('SANDDEB0XXX'), directory.findAspsp('SANDDEB0XXX')]);
    expect(a).toEqual({ bicFi: 'SANDDEB0XXX', name: 'Sandbox' });
    expect(b).toBe(a);
    now += 29_999;
    await directory.findAspsp('SANDDEB0XXX');
    expect(queries).toEqual(['SANDDEB0XXX']);
    now += 1;
    await directory.findAspsp('SANDDEB0XXX');
    expect(queries).toEqual(['SANDDEB0XXX', 'SANDDEB0XXX']);
  });

  it('keeps neither an unknown BIC nor a failed query: the next lookup asks again', async () => {
    const { ds, queries } = fakeDataSource({});
    const directory = new CachedDirectoryRepository(ds, 30_000, () => 1_000);
    expect(await directory.findAspsp('NEWBANKXXXX')).toBeNull();
    expect(await directory.findAspsp('NEWBANKXXXX')).toBeNull();
    await expect(directory.findAspsp('BROKEN')).rejects.toThrow('connection lost');
    await expect(directory.findAspsp('BROKEN')).rejects.toThrow('connection lost');
    expect(queries).toEqual(['NEWBANKXXXX', 'NEWBANKXXXX', 'BROKEN', 'BROKEN']);
  });
});
