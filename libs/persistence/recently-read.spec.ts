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
