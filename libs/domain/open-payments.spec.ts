import { isGrantApproved } from './open-payments';

describe('isGrantApproved: the finish redirect in Clearway\'s words', () => {
  it.each([
    [{ interactRef: 'ref-1', hash: 'h' }, true],
    [{ result: 'grant_rejected' }, false],
    [{ result: 'grant_rejected', interactRef: 'ref-1' }, false],
    [{ result: 'grant_invalid' }, false],
    [{}, false],
    [{ interactRef: '' }, false],
  ])('%j → %s', (finish, approved) => {
    expect(isGrantApproved(finish)).toBe(approved);
  });
});
