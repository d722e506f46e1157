import { SaxesParser } from 'saxes';
import { writePain002, type Iso20022Status, type Pain002Group, type Pain002Header, type Pain002TransactionStatus } from './pain002-writer';
import { writtenBytes } from './testing';
import { validateXsd } from './xsd';

const HEADER: Pain002Header = {
  msgId: 'RPT-2026-11-30-01',
  creationDateTime: '2026-11-30T12:00:00Z',
  initiatingPartyName: 'Clearway',
  originalMsgId: 'MSG-2026-11-30-01',
  originalMsgNameId: 'pain.001.001.09',
  originalNumberOfTransactions: 3,
  originalControlSum: '30.13',
  groupStatus: 'PART',
};

const TRANSACTIONS: Pain002TransactionStatus[] = [
  { originalInstructionId: 'INSTR-1', originalEndToEndId: 'E2E-1', status: 'ACSC', amount: '10.00', currency: 'EUR' },
  { originalEndToEndId: 'E2E-2', status: 'RJCT', reasonCode: 'AM04', additionalInformation: 'Insufficient funds', amount: '10.13', currency: 'EUR' },
  { originalEndToEndId: 'E2E-3', status: 'ACSP' },
];

function report(header: Pain002Header, groups: Pain002Group[]): Promise<Buffer> {
  return writtenBytes((out) => writePain002(out, header, groups));
}

/** Element local name → texts, in document order. */
function texts(xml: Buffer): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const parser = new SaxesParser({ xmlns: true });
  let text = '';
  parser.on('opentag', () => (text = ''));
  parser.on('text', (t) => (text += t));
  parser.on('closetag', (tag) => found.set(tag.local, [...(found.get(tag.local) ?? []), text]));
  parser.write(xml.toString('utf8')).close();
  return found;
}

async function expectXsdValid(xml: Buffer): Promise<void> {
  const result = await validateXsd(xml, 'pain.002.001.10');
  expect(result.errors).toEqual([]);
  expect(result.valid).toBe(true);
}

describe('writePain002', () => {
  it('writes group, PmtInf and transaction levels, echoing the original ids, XSD-valid', async () => {
    const xml = await report(HEADER, [
      {
        info: {
          originalPmtInfId: 'PMT-1',
          status: 'PART',
          numberOfTransactions: 3,
          controlSum: '30.13',
          countsPerStatus: [
            { status: 'ACSC', count: 1, controlSum: '10.00' },
            { status: 'RJCT', count: 1, controlSum: '10.13' },
            { status: 'ACSP', count: 1 },
          ],
        },
        transactions: TRANSACTIONS,
      },
    ]);
    await expectXsdValid(xml);
    const t = texts(xml);
    expect(t.get('OrgnlMsgId')).toEqual(['MSG-2026-11-30-01']);
    expect(t.get('OrgnlMsgNmId')).toEqual(['pain.001.001.09']);
    expect(t.get('OrgnlPmtInfId')).toEqual(['PMT-1']);
    expect(t.get('OrgnlEndToEndId')).toEqual(['E2E-1', 'E2E-2', 'E2E-3']);
    expect(t.get('OrgnlInstrId')).toEqual(['INSTR-1']);
    expect(t.get('TxSts')).toEqual(['ACSC', 'RJCT', 'ACSP']);
    expect(t.get('Cd')).toEqual(['AM04']);
    expect(t.get('AddtlInf')).toEqual(['Insufficient funds']);
    expect(t.get('InstdAmt')).toEqual(['10.00', '10.13']);
    expect(t.get('GrpSts')).toEqual(['PART']);
    expect(t.get('DtldSts')).toEqual(['ACSC', 'RJCT', 'ACSP']);
  });

  it('keeps texts within their XSD lengths and character set, and escapes markup', async () => {
    const long = 'Zahlung für Rechnung <4711> & "Co" — 😀 '.repeat(12);
    const xml = await report(
      { ...HEADER, msgId: 'R'.repeat(50), initiatingPartyName: `${'N'.repeat(150)}\u0001`, groupReasonCode: 'NARR', groupAdditionalInformation: long },
      [
        {
          info: { originalPmtInfId: `${'P'.repeat(34)}😀😀`, reasonCode: 'BANK_SPECIFIC_REASON_CODE_THAT_IS_FAR_TOO_LONG' },
          transactions: [
            { originalEndToEndId: 'E2E <&> 1', status: 'RJCT', reasonCode: 'AC01', additionalInformation: 'line 1\nline 2\r\ttab\u0000' },
            { originalEndToEndId: '', originalInstructionId: '\u0002', status: 'ACCP', reasonCode: '', additionalInformation: '   ' },
          ],
        },
      ],
    );
    await expectXsdValid(xml);
    const t = texts(xml);
    expect(t.get('MsgId')).toEqual(['R'.repeat(35)]);
    expect(t.get('Nm')).toEqual(['N'.repeat(140)]);
    expect(t.get('OrgnlPmtInfId')).toEqual([`${'P'.repeat(34)}😀`]);
    expect(t.get('Prtry')).toEqual(['BANK_SPECIFIC_REASON_CODE_THAT_IS_F']);
    expect(t.get('OrgnlEndToEndId')).toEqual(['E2E <&> 1']);
    // 467 characters of group information → 5 pieces of ≤ 105, then the transaction's one
    expect(t.get('AddtlInf')!.map((piece) => Array.from(piece).length)).toEqual([105, 105, 105, 105, 47, 18]);
    expect(t.get('AddtlInf')).toContain('line 1 line 2  tab');
    expect(xml.toString()).toContain('E2E &lt;&amp;&gt; 1');
  });

  it.each<[string, Partial<Pain002Header>]>([
    ['an empty msgId', { msgId: ' ' }],
    ['a creation date-time that is no date-time', { creationDateTime: '30.11.2026' }],
    ['a creation date that does not exist', { creationDateTime: '2026-02-30T10:00:00' }],
    ['an unknown group status', { groupStatus: 'DONE' as Iso20022Status }],
    ['a control sum with more than 18 digits', { originalControlSum: '1234567890123456789' }],
    ['a negative count', { originalNumberOfTransactions: -1 }],
    ['a debtor agent that is no BIC', { debtorAgentBic: 'NOTABIC' }],
  ])('refuses %s before writing anything', async (_name, change) => {
    const chunks: Buffer[] = [];
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    await expect(writePain002(out, { ...HEADER, ...change }, [])).rejects.toThrow(RangeError);
    expect(chunks).toEqual([]);
  });

  it.each<[string, Partial<Pain002TransactionStatus>]>([
    ['an amount with more than 5 decimals', { amount: '1.000001', currency: 'EUR' }],
    ['an amount without currency', { amount: '1.00', currency: undefined }],
    ['a currency that is no ISO code', { amount: '1.00', currency: 'eur' }],
    ['an unknown status', { status: 'OKAY' as Iso20022Status }],
  ])('refuses a transaction with %s', async (_name, change) => {
    await expect(report(HEADER, [{ info: { originalPmtInfId: 'P' }, transactions: [{ ...TRANSACTIONS[0], ...change }] }])).rejects.toThrow(RangeError);
  });

  it('accepts a Date, the edge of the decimal ranges and a report without groups', async () => {
    const xml = await report(
      { ...HEADER, creationDateTime: new Date('2026-11-30T12:00:00.123Z'), originalControlSum: '0.00000000000000001', originalNumberOfTransactions: 999_999_999_999_999 },
      [{ info: { originalPmtInfId: 'P', controlSum: '999999999999999999' }, transactions: [{ originalEndToEndId: 'E', status: 'ACSC', amount: '9999999999999.00000', currency: 'JPY' }] }],
    );
    await expectXsdValid(xml);
    await expectXsdValid(await report(HEADER, []));
  });

  it('stays XSD-valid for arbitrary texts, codes and amounts the types allow (seeded fuzz)', async () => {
    let seed = 20261130;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
    const alphabet = ['a', 'Z', '9', ' ', '&', '<', '>', '"', "'", 'ü', 'ß', '€', '北', '😀', '\n', '\t', '\r', '\u0000', '\u0008', '\uFFFE', '\uD800', '\uDC00', ']]>', '-->'];
    const text = (max: number) => Array.from({ length: Math.floor(random() * max) }, () => pick(alphabet)).join('');
    const statuses: Iso20022Status[] = ['RCVD', 'ACTC', 'ACCP', 'ACSP', 'ACSC', 'ACCC', 'ACWC', 'ACWP', 'PATC', 'PDNG', 'PART', 'RJCT', 'CANC'];
    const amount = () => `${Math.floor(random() * 1e12)}${random() < 0.7 ? `.${String(Math.floor(random() * 1e5)).padStart(5, '0').slice(0, 1 + Math.floor(random() * 5))}` : ''}`;
    const groups: Pain002Group[] = Array.from({ length: 5 }, (_, g) => ({
      info: {
        originalPmtInfId: `P${g}${text(60)}`,
        ...(random() < 0.5 && { status: pick(statuses), reasonCode: pick(['AM04', 'AC01', 'x', '', text(50)]), additionalInformation: text(400) }),
        ...(random() < 0.5 && { numberOfTransactions: Math.floor(random() * 1000), controlSum: amount(), countsPerStatus: [{ status: pick(statuses), count: 3, controlSum: amount() }] }),
      },
      transactions: Array.from({ length: 60 }, () => ({
        originalEndToEndId: text(50),
        ...(random() < 0.5 && { originalInstructionId: text(50) }),
        status: pick(statuses),
        ...(random() < 0.5 && { reasonCode: pick(['AM04', 'MS03', text(8), text(40)]) }),
        ...(random() < 0.5 && { additionalInformation: text(1200) }),
        ...(random() < 0.5 && { amount: amount(), currency: pick(['EUR', 'JPY', 'BHD', 'USD']) }),
      })),
    }));
    const xml = await report({ ...HEADER, initiatingPartyName: text(200), groupAdditionalInformation: text(300), groupReasonCode: text(6) }, groups);
    await expectXsdValid(xml);
    expect(texts(xml).get('TxSts')).toHaveLength(300);
  });

  it('streams a 10,000-transaction report from async iterables, XSD-valid', async () => {
    async function* transactions(): AsyncIterable<Pain002TransactionStatus> {
      for (let i = 0; i < 10_000; i++) {
        yield {
          originalInstructionId: `INSTR-${i}`,
          originalEndToEndId: `E2E-1-${String(i + 1).padStart(6, '0')}`,
          status: i % 100 === 13 ? 'RJCT' : 'ACSC',
          ...(i % 100 === 13 && { reasonCode: 'AM04' }),
          amount: `${i + 1}.13`,
          currency: 'EUR',
        };
      }
    }
    async function* groups(): AsyncIterable<Pain002Group> {
      yield { info: { originalPmtInfId: 'PMT-1', status: 'PART', numberOfTransactions: 10_000 }, transactions: transactions() };
    }
    const xml = await writtenBytes((out) => writePain002(out, { ...HEADER, originalNumberOfTransactions: 10_000 }, groups()));
    await expectXsdValid(xml);
    const t = texts(xml);
    expect(t.get('OrgnlEndToEndId')).toHaveLength(10_000);
    expect(t.get('OrgnlEndToEndId')![9_999]).toBe('E2E-1-010000');
    expect(t.get('TxSts')!.filter((s) => s === 'RJCT')).toHaveLength(100);
  }, 60_000);
});
