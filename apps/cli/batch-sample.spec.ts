import { PAIN001_VERSIONS, readPain001 } from '../../libs/iso20022';
import { pain001Bytes, recordingSink } from '../../libs/iso20022/testing';
import { SAMPLE_ACCOUNTS, sampleAmount, sampleFileName, sampleMsgId, sampleProblems, sampleSpec } from './batch-sample';

// What `clearway batch sample` writes, read back with the same reader (XSD and semantic checks) the
// batch API uses before it stores anything.

const NOW = new Date('2026-12-04T01:15:06.789Z');

describe.each(PAIN001_VERSIONS)('the sample payment run as %s', (version) => {
  it('is a file the batch API accepts: XSD-valid, control sums right, routed to both sandbox banks', async () => {
    const bytes = await pain001Bytes(sampleSpec({ version, transactions: 25, singles: 4, rejected: 3, msgId: 'SAMPLE-1', now: NOW }));
    const sink = recordingSink();
    const result = await readPain001(bytes, sink);

    expect(result.issues).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.version).toBe(version);
    expect(result.groupHeader?.msgId).toBe('SAMPLE-1');
    expect(result.transactionCount).toBe(29);
    expect(sink.paymentInformations.map((p) => [p.pmtInfId, p.debtorIban, p.debtorAgentBic, p.requestedExecutionDate])).toEqual([
      [SAMPLE_ACCOUNTS.bulk.pmtInfId, SAMPLE_ACCOUNTS.bulk.debtorIban, 'SANDDEB0XXX', '2026-12-04'],
      [SAMPLE_ACCOUNTS.singles.pmtInfId, SAMPLE_ACCOUNTS.singles.debtorIban, 'SANDNL2AXXX', '2026-12-04'],
    ]);
    // The sandbox bank's rejection scenario: cents 13 on exactly the first three of the bulk, none elsewhere.
    const cents13 = sink.transactionList.filter((t) => t.amount.endsWith('.13')).map((t) => [t.pmtInfIndex, t.index]);
    expect(cents13).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
    ]);
  });
});

describe('sample options', () => {
  it('leaves out the second bank with --singles 0', () => {
    const spec = sampleSpec({ version: 'pain.001.001.09', transactions: 5, singles: 0, rejected: 0, msgId: 'M', now: NOW });
    expect(spec.paymentInformations.map((p) => p.debtorAgentBic)).toEqual(['SANDDEB0XXX']);
  });

  it('keeps amounts valid when it forces cents 13', () => {
    const amount = sampleAmount(2);
    expect([0, 1, 2, 3].map(amount).map((a) => /^\d+\.\d\d$/.test(a) && a.endsWith('.13'))).toEqual([true, true, false, false]);
  });

  it('names a MsgId after the second, within Max35Text', () => {
    expect(sampleMsgId(NOW)).toBe('SAMPLE-20261204-011506');
    expect(sampleProblems({ transactions: 1, singles: 0, rejected: 0, msgId: sampleMsgId(NOW) })).toEqual([]);
  });

  it('names the file after the MsgId, never a path', () => {
    expect(sampleFileName('SAMPLE-20261204-011506')).toBe('SAMPLE-20261204-011506.xml');
    expect(sampleFileName('RUN 2026/12 (A)')).toBe('RUN-2026-12-A-.xml');
    expect(sampleFileName('../x')).toBe('..-x.xml');
  });

  it.each([
    [{ transactions: 0, singles: 3, rejected: 0, msgId: 'M' }, /--transactions must be at least 1/],
    [{ transactions: 99_999, singles: 2, rejected: 0, msgId: 'M' }, /add up to 100001; a batch holds at most 100000/],
    [{ transactions: 5, singles: 0, rejected: 6, msgId: 'M' }, /--rejected \(6\) cannot exceed --transactions \(5\)/],
    [{ transactions: 5, singles: 0, rejected: 0, msgId: 'M'.repeat(36) }, /--msg-id must be 1–35/],
    [{ transactions: 5, singles: 0, rejected: 0, msgId: 'MSG<1>' }, /--msg-id must be 1–35/],
  ])('refuses %j', (options, problem) => {
    expect(sampleProblems(options).join('; ')).toMatch(problem);
  });
});
