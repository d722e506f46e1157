import { RecentlyRead } from './recently-read';

test('keeps the last `capacity` entries, oldest out first; refreshing one does not evict another', () => {
  const facts = new RecentlyRead<string>(2);
  facts.remember('a', 'A');
  facts.remember('b', 'B');
  facts.remember('a', 'A again');
  expect([facts.get('a'), facts.get('b')]).toEqual(['A again', 'B']);
  facts.remember('c', 'C');
  expect([facts.get('a'), facts.get('b'), facts.get('c')]).toEqual([undefined, 'B', 'C']);
});

test('getOrRead reads once, then answers from memory; a read that finds nothing is an error naming the resource', async () => {
  const facts = new RecentlyRead<string>();
  let reads = 0;
  const read = async () => (reads += 1, 'tenant-1');
  await expect(facts.getOrRead('p1', 'Payment', read)).resolves.toBe('tenant-1');
  await expect(facts.getOrRead('p1', 'Payment', read)).resolves.toBe('tenant-1');
  expect(reads).toBe(1);
  await expect(facts.getOrRead('p2', 'Payment', async () => undefined)).rejects.toThrow('Payment p2 not found');
  expect(facts.get('p2')).toBeUndefined();
});
