import { createHash } from 'node:crypto';
import { json, useScriptedBank } from '../../../test/support/scripted-bank';
import { BankError, type BankConnection, type InitiatePaymentCommand, type PaymentRef } from '../bank-adapter';
import { BerlinGroupAdapter } from '.';
import { createAdapterRegistry, adapterFor } from '../registry';

const bank = useScriptedBank();
const { requests } = bank;
let conn: BankConnection;
beforeAll(() => {
  conn = { bicFi: 'TESTDEFFXXX', baseUrl: `${bank.origin}/psd2`, timeoutMs: 1_000 };
});

const sut = new BerlinGroupAdapter();

function initiateCommand(overrides: Partial<InitiatePaymentCommand> = {}): InitiatePaymentCommand {
  return {
    idempotencyKey: '0b8f2f8e-9d3c-4c59-9d0b-7d3f3a2c1e01',
    paymentProduct: 'sepa-credit-transfers',
    payment: {
      debtorAccount: { iban: 'DE89370400440532013000' },
      creditorAccount: { iban: 'NL91ABNA0417164300' },
      creditorName: 'Ada Lovelace',
      instructedAmount: { currency: 'EUR', amount: '12.34' },
      remittanceInformationUnstructured: 'invoice 7',
    },
    psu: { psuId: 'psu-1', psuIpAddress: '192.0.2.10', psuUserAgent: 'jest' },
    redirect: { okUri: 'https://tpp.example/ok', nokUri: 'https://tpp.example/nok' },
    redirectPreferred: true,
    ...overrides,
  };
}

const ref = (over: Partial<PaymentRef> = {}): PaymentRef => ({
  bankPaymentId: 'pay-1',
  paymentProduct: 'sepa-credit-transfers',
  requestId: '5a1e6a52-0a35-4b8e-8f2a-2f4c1d8e9b10',
  ...over,
});

async function caught(p: Promise<unknown>): Promise<BankError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BankError) return err;
    throw err;
  }
  throw new Error('expected a BankError');
}

describe('BerlinGroupAdapter over HTTP', () => {
  describe('initiatePayment', () => {
    it('sends the BG request and maps a redirect 201', async () => {
      bank.responder = (_req, res) =>
        json(
          res,
          201,
          {
            transactionStatus: 'RCVD',
            paymentId: 'pay-1',
            _links: {
              scaRedirect: { href: 'https://bank.example/sca/pay-1' },
              self: { href: '/psd2/v1/payments/sepa-credit-transfers/pay-1' },
              scaStatus: { href: '/psd2/v1/payments/sepa-credit-transfers/pay-1/authorisations/auth-1' },
            },
          },
          { 'ASPSP-SCA-Approach': 'REDIRECT', Location: '/psd2/v1/payments/sepa-credit-transfers/pay-1' },
        );

      const result = await sut.initiatePayment(conn, initiateCommand());

      expect(result).toEqual({
        bankPaymentId: 'pay-1',
        status: { raw: 'RCVD', normalised: 'RCVD' },
        scaApproach: 'REDIRECT',
        authorisationId: 'auth-1',
        scaRedirectUrl: 'https://bank.example/sca/pay-1',
      });
      const [req] = requests;
      expect(req!.method).toBe('POST');
      expect(req!.url).toBe('/psd2/v1/payments/sepa-credit-transfers');
      expect(req!.headers).toMatchObject({
        'x-request-id': '0b8f2f8e-9d3c-4c59-9d0b-7d3f3a2c1e01',
        'content-type': 'application/json',
        accept: 'application/json',
        'psu-id': 'psu-1',
        'psu-ip-address': '192.0.2.10',
        'psu-user-agent': 'jest',
        'tpp-redirect-uri': 'https://tpp.example/ok',
        'tpp-nok-redirect-uri': 'https://tpp.example/nok',
        'tpp-redirect-preferred': 'true',
        digest: `SHA-256=${createHash('sha256').update(req!.body).digest('base64')}`,
      });
      expect(req!.headers).not.toHaveProperty('signature');
      expect(req!.headers).not.toHaveProperty('tpp-signature-certificate');
      expect(JSON.parse(req!.body)).toEqual(initiateCommand().payment);
    });

    it('infers DECOUPLED from a bare scaStatus link and takes authorisationId from the body', async () => {
      bank.responder = (_req, res) =>
        json(res, 201, {
          transactionStatus: 'RCVD',
          paymentId: 'pay-2',
          authorisationId: 'auth-body',
          psuMessage: 'Please confirm in your banking app',
          _links: { scaStatus: { href: '/v1/payments/sepa-credit-transfers/pay-2/authorisations/auth-link' } },
        });
      const result = await sut.initiatePayment(conn, initiateCommand({ redirectPreferred: undefined }));
      expect(result).toMatchObject({ scaApproach: 'DECOUPLED', authorisationId: 'auth-body', psuMessage: 'Please confirm in your banking app' });
      expect(result.scaRedirectUrl).toBeUndefined();
      expect(requests[0]!.headers).not.toHaveProperty('tpp-redirect-preferred');
    });

    it('sends signature headers only when a signer is configured', async () => {
      bank.responder = (_req, res) => json(res, 201, { transactionStatus: 'RCVD', paymentId: 'p', _links: {} });
      const signed = new BerlinGroupAdapter({
        signer: { sign: (_c, req) => ({ Signature: `keyId="k",headers="digest x-request-id",sig=${req.headers['X-Request-ID']}`, 'TPP-Signature-Certificate': 'CERT' }) },
      });
      await signed.initiatePayment(conn, initiateCommand());
      expect(requests[0]!.headers).toMatchObject({
        signature: 'keyId="k",headers="digest x-request-id",sig=0b8f2f8e-9d3c-4c59-9d0b-7d3f3a2c1e01',
        'tpp-signature-certificate': 'CERT',
      });
    });
  });

  describe('error classification', () => {
    it('503 → unavailable', async () => {
      bank.responder = (_req, res) => json(res, 503, { tppMessages: [{ category: 'ERROR', code: 'SERVICE_UNAVAILABLE' }] });
      const err = await caught(sut.initiatePayment(conn, initiateCommand()));
      expect(err).toMatchObject({ kind: 'unavailable', retryable: true, details: { httpStatus: 503 } });
    });

    it('429 with Retry-After → rate_limited with retryAfterMs', async () => {
      bank.responder = (_req, res) => json(res, 429, { tppMessages: [{ category: 'ERROR', code: 'ACCESS_EXCEEDED' }] }, { 'Retry-After': '2' });
      const err = await caught(sut.getPaymentStatus(conn, ref()));
      expect(err).toMatchObject({ kind: 'rate_limited', details: { httpStatus: 429, retryAfterMs: 2000 } });
    });

    it('400 with tppMessages → rejected with the messages', async () => {
      bank.responder = (_req, res) =>
        json(res, 400, { tppMessages: [{ category: 'ERROR', code: 'FORMAT_ERROR', path: 'creditorAccount', text: 'bad' }] });
      const err = await caught(sut.initiatePayment(conn, initiateCommand()));
      expect(err).toMatchObject({
        kind: 'rejected',
        retryable: false,
        details: { httpStatus: 400, messages: [{ category: 'ERROR', code: 'FORMAT_ERROR', path: 'creditorAccount', text: 'bad' }] },
      });
    });

    it('403 RESOURCE_UNKNOWN → not_found', async () => {
      bank.responder = (_req, res) => json(res, 403, { tppMessages: [{ category: 'ERROR', code: 'RESOURCE_UNKNOWN' }] });
      expect(await caught(sut.getPaymentStatus(conn, ref()))).toMatchObject({ kind: 'not_found', details: { httpStatus: 403 } });
    });

    it('404 → not_found', async () => {
      bank.responder = (_req, res) => json(res, 404, { tppMessages: [{ category: 'ERROR', code: 'RESOURCE_UNKNOWN' }] });
      expect(await caught(sut.getScaStatus(conn, { ...ref(), authorisationId: 'a' }))).toMatchObject({ kind: 'not_found' });
    });

    it('an HTML error page on 502 is still unavailable', async () => {
      bank.responder = (_req, res) => {
        res.writeHead(502, { 'Content-Type': 'text/html' });
        res.end('<html>Bad gateway</html>');
      };
      expect(await caught(sut.getPaymentStatus(conn, ref()))).toMatchObject({ kind: 'unavailable', details: { httpStatus: 502 } });
    });

    it('garbage 2xx body → protocol', async () => {
      bank.responder = (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"transactionStatus": "ACS');
      };
      expect(await caught(sut.getPaymentStatus(conn, ref()))).toMatchObject({ kind: 'protocol', retryable: false });
    });

    it('2xx without required fields → protocol', async () => {
      bank.responder = (_req, res) => json(res, 201, { transactionStatus: 'RCVD', _links: {} });
      expect(await caught(sut.initiatePayment(conn, initiateCommand()))).toMatchObject({ kind: 'protocol' });
    });

    it('a bank that hangs → unavailable after conn.timeoutMs', async () => {
      bank.responder = () => undefined; // never answers
      const started = Date.now();
      const err = await caught(sut.getPaymentStatus({ ...conn, timeoutMs: 200 }, ref()));
      expect(err).toMatchObject({ kind: 'unavailable' });
      expect(err.message).toMatch(/timed out/);
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('a bank that stalls mid-body → unavailable', async () => {
      bank.responder = (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"transactionStatus":');
      };
      expect(await caught(sut.getPaymentStatus({ ...conn, timeoutMs: 200 }, ref()))).toMatchObject({ kind: 'unavailable' });
    });

    it('connection refused → unavailable', async () => {
      const err = await caught(sut.getPaymentStatus({ ...conn, baseUrl: 'http://127.0.0.1:1/psd2' }, ref()));
      // Nothing left: the bank cannot have acted, so even an initiation may be sent again.
      expect(err).toMatchObject({ kind: 'unavailable', fate: 'not_processed' });
      expect(err.message).toMatch(/could not connect \(ECONNREFUSED\)/);
    });
  });

  describe('reads', () => {
    it('getPaymentStatus GETs .../status with the ref request id and maps unknown codes to PDNG', async () => {
      bank.responder = (_req, res) => json(res, 200, { transactionStatus: 'XYZW' });
      expect(await sut.getPaymentStatus(conn, ref({ psu: { psuIpAddress: '192.0.2.1' } }))).toEqual({ raw: 'XYZW', normalised: 'PDNG' });
      expect(requests[0]).toMatchObject({ method: 'GET', url: '/psd2/v1/payments/sepa-credit-transfers/pay-1/status' });
      expect(requests[0]!.headers).toMatchObject({ 'x-request-id': ref().requestId, 'psu-ip-address': '192.0.2.1' });
      expect(requests[0]!.headers).not.toHaveProperty('digest');
      expect(requests[0]!.headers).not.toHaveProperty('content-type');
    });

    it('uses a fresh UUID when the ref carries no request id', async () => {
      bank.responder = (_req, res) => json(res, 200, { transactionStatus: 'ACSC' });
      await sut.getPaymentStatus(conn, ref({ requestId: '' }));
      await sut.getPaymentStatus(conn, ref({ requestId: '' }));
      const [a, b] = requests.map((r) => r.headers['x-request-id']);
      expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(a).not.toBe(b);
    });

    it('getScaStatus GETs the authorisation and maps scaStatus', async () => {
      bank.responder = (_req, res) => json(res, 200, { scaStatus: 'finalised' });
      expect(await sut.getScaStatus(conn, { ...ref(), authorisationId: 'auth-1' })).toEqual({ raw: 'finalised', normalised: 'finalised' });
      expect(requests[0]!.url).toBe('/psd2/v1/payments/sepa-credit-transfers/pay-1/authorisations/auth-1');
    });
  });

  describe('startAuthorisation', () => {
    it('POSTs .../authorisations with redirect headers and maps the start-SCA response', async () => {
      bank.responder = (_req, res) =>
        json(
          res,
          201,
          {
            scaStatus: 'received',
            authorisationId: 'auth-7',
            _links: {
              scaRedirect: { href: '/v1/sca/auth-7' },
              scaStatus: { href: '/v1/payments/sepa-credit-transfers/pay-1/authorisations/auth-7' },
            },
          },
          { 'ASPSP-SCA-Approach': 'REDIRECT' },
        );
      const result = await sut.startAuthorisation(conn, { ...ref(), redirect: { okUri: 'https://tpp/ok', nokUri: 'https://tpp/nok' } });
      expect(result).toEqual({
        authorisationId: 'auth-7',
        scaStatus: { raw: 'received', normalised: 'received' },
        scaApproach: 'REDIRECT',
        scaRedirectUrl: `${conn.baseUrl}/v1/sca/auth-7`,
      });
      expect(requests[0]).toMatchObject({ method: 'POST', url: '/psd2/v1/payments/sepa-credit-transfers/pay-1/authorisations', body: '{}' });
      expect(requests[0]!.headers).toMatchObject({ 'tpp-redirect-uri': 'https://tpp/ok', 'tpp-nok-redirect-uri': 'https://tpp/nok' });
    });
  });

  describe('cancelPayment', () => {
    it('204 → CANC, no authorisation needed', async () => {
      bank.responder = (_req, res) => {
        res.writeHead(204);
        res.end();
      };
      expect(await sut.cancelPayment(conn, ref())).toEqual({ status: { raw: 'CANC', normalised: 'CANC' }, authorisationRequired: false });
      expect(requests[0]).toMatchObject({ method: 'DELETE', url: '/psd2/v1/payments/sepa-credit-transfers/pay-1' });
    });

    it('202 → the PSU must authorise the cancellation', async () => {
      bank.responder = (_req, res) => json(res, 202, { transactionStatus: 'ACTC', _links: { startAuthorisation: { href: '/x' } } });
      expect(await sut.cancelPayment(conn, ref())).toEqual({ status: { raw: 'ACTC', normalised: 'ACTC' }, authorisationRequired: true });
    });

    it('405 CANCELLATION_INVALID → rejected', async () => {
      bank.responder = (_req, res) => json(res, 405, { tppMessages: [{ category: 'ERROR', code: 'CANCELLATION_INVALID' }] });
      expect(await caught(sut.cancelPayment(conn, ref()))).toMatchObject({ kind: 'rejected', details: { httpStatus: 405 } });
    });
  });
});

describe('adapter registry', () => {
  it('maps berlin-group to the BG adapter', () => {
    expect(adapterFor('berlin-group')).toBeInstanceOf(BerlinGroupAdapter);
    expect(createAdapterRegistry().protocols).toEqual(['berlin-group', 'uk-obie']);
  });

  it('takes overrides, e.g. an adapter with a stubbed fetch', () => {
    const stub = new BerlinGroupAdapter({ fetch: async () => new Response('{}') });
    expect(createAdapterRegistry({ 'berlin-group': stub }).adapterFor('berlin-group')).toBe(stub);
  });

  it('refuses an unknown protocol', () => {
    expect(() => adapterFor('no-such-protocol')).toThrow(/no bank adapter/);
    expect(() => adapterFor('toString')).toThrow(/no bank adapter/);
  });
});
