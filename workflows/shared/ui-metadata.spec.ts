import {
  activitySummary,
  clock,
  consentDetails,
  consentSummary,
  detailsMarkdown,
  duration,
  mandateSummary,
  minorUnits,
  paymentDetails,
  paymentSummary,
  phrases,
  redactPii,
  summaryLine,
  SUMMARY_MAX_BYTES,
  transferDetails,
  transferSummary,
  truncateBytes,
  utf8Bytes,
  webhookDispatcherSummary,
} from './ui-metadata';

/** A whole payment request, PII and all: none of it but the amount may reach the UI. */
const REQUEST = {
  instructedAmount: { currency: 'EUR', amount: '142.66' },
  debtorAccount: { iban: 'DE89370400440532013000' },
  creditorName: 'Enterprise GmbH',
  creditorAccount: { iban: 'NL91ABNA0417164300' },
  remittanceInformationUnstructured: 'Invoice 42',
};
const PII = ['DE89370400440532013000', 'NL91ABNA0417164300', 'Enterprise', 'Invoice 42', 'alice', 'bob'];

function expectNoPii(text: string): void {
  for (const p of PII) expect(text).not.toContain(p);
}

describe('ui-metadata', () => {
  describe('summaries', () => {
    it('formats a payment as one line: product, amount, bank, tenant', () => {
      const s = paymentSummary({ product: 'sepa-credit-transfers', amount: REQUEST.instructedAmount, bicFi: 'SANDDEB0XXX', tenantId: 'sandbox' });
      expect(s).toBe('SCT 142.66 EUR · SANDDEB0XXX · tenant sandbox');
      expectNoPii(s);
    });

    it('names products shortly and keeps unknown ones as they are', () => {
      expect(paymentSummary({ product: 'instant-sepa-credit-transfers', amount: { amount: '1', currency: 'EUR' }, bicFi: 'B', tenantId: 't' })).toMatch(/^SCT Inst 1 EUR/);
      expect(paymentSummary({ product: 'cross-border-credit-transfers', amount: { amount: '1', currency: 'SEK' }, bicFi: 'B', tenantId: 't', service: 'bulk-payments' }))
        .toBe('bulk-payments cross-border-credit-transfers 1 SEK · B · tenant t');
    });

    it('is one line of at most 200 bytes, even from long or multi-line input, counting UTF-8 bytes', () => {
      const s = summaryLine('a\nb', 'é'.repeat(300));
      expect(s).not.toMatch(/[\r\n]/);
      expect(utf8Bytes(s)).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
      expect(s.endsWith('…')).toBe(true);
      expect(s.startsWith('a b · éé')).toBe(true);
      expect(truncateBytes('short', 10)).toBe('short');
      expect(utf8Bytes('€')).toBe(3);
      expect(utf8Bytes('😀')).toBe(4);
    });

    it('leaves out empty parts', () => {
      expect(summaryLine('a', undefined, '', null, false, ['b', undefined, 'c'])).toBe('a · b c');
    });

    it('gives activities and timers short summaries, the attempt only from the second', () => {
      expect(activitySummary('Initiate', { at: 'SANDDEB0XXX' })).toBe('Initiate at SANDDEB0XXX');
      expect(activitySummary('Check status', { attempt: 3 })).toBe('Check status (attempt 3)');
      expect(activitySummary('Check status', { attempt: 1 })).toBe('Check status');
    });

    it('formats Open Payments amounts from minor units without floats', () => {
      expect(minorUnits({ value: '1250', assetCode: 'EUR', assetScale: 2 })).toBe('12.50 EUR');
      expect(minorUnits({ value: '5', assetCode: 'EUR', assetScale: 2 })).toBe('0.05 EUR');
      expect(minorUnits({ value: '90071992547409931', assetCode: 'USD', assetScale: 2 })).toBe('900719925474099.31 USD');
      expect(minorUnits({ value: '7', assetCode: 'JPY', assetScale: 0 })).toBe('7 JPY');
    });

    it('names a wallet by its host only, never the person\'s address', () => {
      const s = transferSummary({ amount: { value: '1250', assetCode: 'EUR', assetScale: 2 }, amountKind: 'debit', senderWalletAddress: 'https://127.0.0.1:3002/alice', tenantId: 'sandbox' });
      expect(s).toBe('Open Payments transfer 12.50 EUR (debit) · 127.0.0.1:3002 · tenant sandbox');
      expectNoPii(s);
      const m = mandateSummary({ amount: { value: '500', assetCode: 'EUR', assetScale: 2 }, interval: 'R12/2026-12-01T00:00:00Z/P1D', senderWalletAddress: 'https://wallet.example/alice', tenantId: 't' });
      expect(m).toBe('Mandate 5.00 EUR per P1D (R12) · wallet.example · tenant t');
      expectNoPii(m);
      expectNoPii(transferDetails({ transferId: 'x', tenantId: 't', apiBaseUrl: 'http://api', senderWalletAddress: 'https://user:pw@wallet.example/alice' }));
    });

    it('summarises consents and webhook dispatchers', () => {
      expect(consentSummary({ bicFi: 'SANDDEB0XXX', tenantId: 'sandbox', frequencyPerDay: 4, grants: { accounts: true, balances: true, transactions: false } }))
        .toBe('AIS consent · 4 reads/day · accounts, balances · SANDDEB0XXX · tenant sandbox');
      expect(webhookDispatcherSummary({ endpointId: 'e1', tenantId: 't' })).toBe('Webhook dispatcher · endpoint e1 · tenant t');
    });
  });

  describe('details', () => {
    it('links the payment into the API and names bank, product and SCA approaches', () => {
      const d = paymentDetails({
        paymentId: 'p-1',
        product: 'sepa-credit-transfers',
        bicFi: 'SANDDEB0XXX',
        bankName: 'Sandbox Bank',
        tenantId: 'sandbox',
        apiBaseUrl: 'http://127.0.0.1:3000',
        scaApproaches: ['REDIRECT', 'DECOUPLED'],
        scaTimeoutMs: 900_000,
      });
      expect(d).toContain('[Payment (API)](http://127.0.0.1:3000/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/p-1)');
      expect(d).toContain('[Status (API)](http://127.0.0.1:3000/psd2/paymentinitiation/v1/payments/sepa-credit-transfers/p-1/status)');
      expect(d).toContain('- Bank: SANDDEB0XXX (Sandbox Bank)');
      expect(d).toContain('- SCA approaches the bank offers: REDIRECT, DECOUPLED');
      expect(d).toContain('- SCA timeout: 15 min');
      expectNoPii(d);
      const c = consentDetails({ consentId: 'c-1', bicFi: 'SANDDEB0XXX', tenantId: 't', apiBaseUrl: 'http://h', recurring: true, requestedValidUntil: '9999-12-31' });
      expect(c).toContain('[Consent (API)](http://h/psd2/consent/v1/consents/c-1)');
      expect(c).toContain('- Recurring: yes');
    });

    it('leaves out empty facts and escapes markdown in values', () => {
      const d = detailsMarkdown({ title: 'T', facts: [['A', undefined], ['B', 'x_y*z'], ['C', 0]], links: [['L', undefined]] });
      expect(d).toBe('**T**\n\n- B: x\\_y\\*z\n- C: 0');
    });
  });

  describe('current details', () => {
    const at = (hhmm: string) => Date.parse(`2026-12-01T${hhmm}:00Z`);

    it('says what the workflow waits for, since when and until when', () => {
      expect(phrases.waitingForSca({ sinceMs: at('06:51'), timesOutAtMs: at('07:06'), approach: 'REDIRECT' }))
        .toBe("Waiting for the PSU's SCA since 06:51 (redirect); times out at 07:06 UTC");
      expect(phrases.pollingBank({ status: 'ACSP', nextCheckInMs: 4_000 })).toBe('Polling the bank: ACSP, next check in 4 s');
      expect(phrases.consentValid({ validUntil: '2027-05-30', readsUsed: 2, readsPerDay: 4 })).toBe('Consent valid until 2027-05-30; 2 of 4 unattended reads used today');
      expect(phrases.final('RJCT', 'SCA timeout')).toBe('Final: RJCT (SCA timeout)');
    });

    it('formats durations and clocks for people', () => {
      expect(duration(4_000)).toBe('4 s');
      expect(duration(15 * 60_000)).toBe('15 min');
      expect(duration(125 * 60_000)).toBe('2 h 5 min');
      expect(duration(50 * 3_600_000)).toBe('2 d 2 h');
      expect(clock(at('23:59'))).toBe('23:59 UTC');
    });
  });

  describe('no PII', () => {
    it('masks IBANs (compact or grouped) and e-mail addresses that slip into any text', () => {
      expect(redactPii('refused: DE89370400440532013000 / DE89 3704 0044 0532 0130 00 / psu@example.com')).toBe('refused: [redacted] / [redacted] / [redacted]');
      expect(phrases.text(`Bank said: account ${REQUEST.creditorAccount.iban} closed`)).toBe('Bank said: account [redacted] closed');
      expect(summaryLine('x', REQUEST.debtorAccount.iban)).toBe('x · [redacted]');
      expect(detailsMarkdown({ title: 'T', notes: ['mail ops@bank.example'] })).not.toContain('ops@bank.example');
    });

    it('keeps the identifiers operators need', () => {
      for (const s of ['SANDDEB0XXX', 'ACSP', 'RJCT', '8172a0c4-1b2d-4c6e-9f00-1234567890ab', 'sepa-credit-transfers', '127.0.0.1:3002']) {
        expect(redactPii(s)).toBe(s);
      }
    });
  });
});
