/**
 * The Berlin Group adapter's bulk payments against the BG sandbox bank over HTTP: JSON and
 * pain.001 bodies the bank accepts, one SCA, per-transaction statuses from its pain.002 (PATC with
 * an AM04 rejection), cancellation, the NL bank's refusal, and the status map.
 */
import { randomUUID } from 'node:crypto';
import { startBerlinGroupSandbox } from '../../../apps/sandbox/berlin-group';
import { BankError, type BankConnection } from '../bank-adapter';
import type { BulkTransactionForBank, InitiateBulkPaymentCommand } from '../bulk-payment-adapter';
import type { BulkPaymentProduct } from '../../domain/bulk-payment';
import { validateXsd } from '../../iso20022/xsd';
import { BerlinGroupAdapter } from '.';
import { parsePain002Status, toPain001 } from './bulk';
import { BG_TRANSACTION_STATUSES } from './transformers';

type Sandbox = Awaited<ReturnType<typeof startBerlinGroupSandbox>>;
let sandbox: Sandbox;
let conn: BankConnection;
const sut = new BerlinGroupAdapter();
const redirect = { okUri: 'https://tpp.example/callback/ok', nokUri: 'https://tpp.example/callback/nok' };
const psu = (psuId?: string) => ({ ...(psuId ? { psuId } : {}), psuIpAddress: '192.0.2.10' });

beforeAll(async () => {
  sandbox = await startBerlinGroupSandbox({ port: 0, decoupledDelayMs: 50 });
  conn = { bicFi: 'SANDDEB0XXX', baseUrl: sandbox.url, timeoutMs: 10_000 };
});
afterAll(() => sandbox?.close());

function transactions(amounts: string[]): BulkTransactionForBank[] {
  return amounts.map((amount, i) => ({
    endToEndId: `E2E-${i}`,
    amount,
    currency: 'EUR',
    creditorName: `Creditor <${i}> & Co`,
    creditorIban: 'NL91ABNA0417164300',
    remittanceInformationUnstructured: `Invoice ${i}`,
  }));
}

function command(product: BulkPaymentProduct, amounts: string[], psuId?: string): InitiateBulkPaymentCommand {
  const txs = transactions(amounts);
  const cents = txs.reduce((s, t) => s + BigInt(t.amount.replace('.', '')), 0n);
  return {
    idempotencyKey: randomUUID(),
    paymentProduct: product,
    bulk: {
      messageId: 'CW-TEST',
      pmtInfId: 'PMT-TEST',
      debtorIban: 'DE89370400440532013000',
      batchBookingPreferred: false,
      requestedExecutionDate: '2026-11-30',
      currency: 'EUR',
      numberOfTransactions: txs.length,
      controlSum: `${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`,
    },
    // An async source, as the activity gives it (a database cursor).
    transactions: (async function* () {
      yield* txs;
    })(),
    psu: psu(psuId),
    redirect,
  };
}

const waitDecoupled = () => new Promise((r) => setTimeout(r, 150));

test.each(['sepa-credit-transfers', 'pain.001-sepa-credit-transfers'] as const)(
  '%s: initiate, decoupled SCA, per-transaction statuses → PATC with AM04',
  async (product) => {
    const created = await sut.initiateBulkPayment!(conn, command(product, ['10.00', '5.13', '7.50'], 'decoupled'));
    expect(created).toMatchObject({ status: { normalised: 'RCVD' }, scaApproach: 'DECOUPLED', authorisationId: expect.any(String) });
    const view = sandbox.bulk.getBulk(created.bankPaymentId)!;
    expect(view).toMatchObject({ numberOfTransactions: 3, controlSum: '22.63', batchBookingPreferred: false });
    await waitDecoupled();
    const ref = { bankPaymentId: created.bankPaymentId, paymentProduct: product, requestId: randomUUID(), psu: psu('decoupled') };
    expect(await sut.getBulkScaStatus!(conn, { ...ref, authorisationId: created.authorisationId! })).toEqual({ raw: 'finalised', normalised: 'finalised' });
    const first = await sut.getBulkPaymentStatus!(conn, ref, { perTransaction: true });
    expect(first.status.normalised).toBe('ACSP');
    const second = await sut.getBulkPaymentStatus!(conn, ref, { perTransaction: true });
    expect(second.status).toEqual({ raw: 'PATC', normalised: 'PATC' });
    expect(second.transactions).toEqual([
      { endToEndId: 'E2E-0', status: { raw: 'ACSC', normalised: 'ACSC' } },
      { endToEndId: 'E2E-1', status: { raw: 'RJCT', normalised: 'RJCT' }, reasonCode: 'AM04' },
      { endToEndId: 'E2E-2', status: { raw: 'ACSC', normalised: 'ACSC' } },
    ]);
    // Without per-transaction statuses: the JSON status only.
    expect(await sut.getBulkPaymentStatus!(conn, ref)).toEqual({ status: { raw: 'PATC', normalised: 'PATC' } });
  },
);

test('the pain.001 the adapter writes is XSD-valid, escapes names, and keeps every transaction', async () => {
  const cmd = command('pain.001-instant-sepa-credit-transfers', ['1.00', '2.00']);
  const xml = toPain001('SANDDEB0XXX', cmd, transactions(['1.00', '2.00']), new Date('2026-12-01T10:00:00Z'));
  expect(await validateXsd(xml, 'pain.001.001.09')).toMatchObject({ valid: true });
  expect(xml).toContain('<LclInstrm><Cd>INST</Cd></LclInstrm>');
  expect(xml).toContain('<Nm>Creditor &lt;1&gt; &amp; Co</Nm>');
  expect(xml.match(/<CdtTrfTxInf>/g)).toHaveLength(2);
});

test('redirect SCA: start another authorisation; cancel before SCA → CANC', async () => {
  const created = await sut.initiateBulkPayment!(conn, command('sepa-credit-transfers', ['1.00']));
  expect(created.scaRedirectUrl).toContain('/sca/bulk-payments/');
  const ref = { bankPaymentId: created.bankPaymentId, paymentProduct: 'sepa-credit-transfers' as const, requestId: randomUUID(), psu: psu() };
  const started = await sut.startBulkAuthorisation!(conn, { ...ref, redirect });
  expect(started).toMatchObject({ scaApproach: 'REDIRECT', scaStatus: { normalised: 'received' }, scaRedirectUrl: expect.stringContaining('/sca/bulk-payments/') });
  expect(await sut.cancelBulkPayment!(conn, ref)).toEqual({ status: { raw: 'CANC', normalised: 'CANC' }, authorisationRequired: false });
  await expect(sut.cancelBulkPayment!(conn, ref)).rejects.toMatchObject({ kind: 'rejected', details: { httpStatus: 405 } });
});

test('a bank without bulk payments refuses them: rejected (refused, not ambiguous)', async () => {
  const nl = { bicFi: 'SANDNL2AXXX', baseUrl: `${sandbox.url}/nl`, timeoutMs: 5_000 };
  const err = await sut.initiateBulkPayment!(nl, command('sepa-credit-transfers', ['1.00'])).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BankError);
  expect(err).toMatchObject({ kind: 'rejected', fate: 'refused', details: { httpStatus: 400, messages: [expect.objectContaining({ code: 'SERVICE_INVALID' })] } });
});

test('a lost 201 is ambiguous: the bank holds a bulk the caller never heard of', async () => {
  sandbox.bank.setFaults({ dropResponseRate: 1 });
  try {
    const err = await sut.initiateBulkPayment!(conn, command('sepa-credit-transfers', ['1.00'])).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'unavailable', fate: 'ambiguous' });
  } finally {
    sandbox.bank.resetFaults();
  }
  expect(sandbox.bulk.stats().bulksCreated).toBeGreaterThan(0);
});

describe('parsePain002Status', () => {
  const report = (grp: string, txs: string) =>
    `<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt><GrpHdr><MsgId>X</MsgId></GrpHdr>` +
    `<OrgnlGrpInfAndSts><OrgnlMsgId>M</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.09</OrgnlMsgNmId>${grp}</OrgnlGrpInfAndSts>` +
    `<OrgnlPmtInfAndSts><OrgnlPmtInfId>P</OrgnlPmtInfId><PmtInfSts>ACSP</PmtInfSts>${txs}</OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>`;

  test.each(BG_TRANSACTION_STATUSES)('group status %s maps through the exhaustive map', (code) => {
    expect(parsePain002Status(report(`<GrpSts>${code}</GrpSts>`, '')).status).toEqual({ raw: code, normalised: code });
  });

  test('an unknown status is pending with its raw value kept; the PmtInf status stands in for a missing group status', () => {
    const parsed = parsePain002Status(report('', '<TxInfAndSts><OrgnlEndToEndId>A</OrgnlEndToEndId><TxSts>BLCK</TxSts></TxInfAndSts>'));
    expect(parsed.status).toEqual({ raw: 'ACSP', normalised: 'ACSP' });
    expect(parsed.transactions).toEqual([{ endToEndId: 'A', status: { raw: 'BLCK', normalised: 'PDNG' } }]);
  });

  test('malformed XML is a protocol error', () => {
    expect(() => parsePain002Status('<Document><oops')).toThrow(BankError);
  });
});
