import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import pino from 'pino';
import { BankError } from '../libs/adapters/bank-adapter';
import { interactionHash } from '../libs/adapters/open-payments';
import type { OpAmount, OpenPaymentsAdapter, OutgoingPayment, Quote, WalletAddress } from '../libs/adapters/open-payments/types';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import type { OpTransferEntity } from '../libs/persistence/entities/op-transfer.entity';
import type { OpOutcomeResolutionRepository } from '../libs/persistence/op-outcome-resolution.repository';
import type { OpTransferRepository } from '../libs/persistence/op-transfer.repository';
import { loadConfig } from '../libs/config/config';
import { HmacSigner } from '../libs/security/hmac-signer';
import { SecretBox } from '../libs/security/secret-box';
import { createOpTransferActivities, type OpTransferActivities } from './op-transfer.activities';

/**
 * The Open Payments transfer activities against a stubbed adapter and an in-memory transfer row,
 * with a real SecretBox: what is persisted, what is sent to the wallet, and which refusals come out.
 */

// The purposes the activities seal tokens under (op-transfer.activities.ts).
const ACCESS_TOKEN = 'op-access-token';
const CONTINUE_TOKEN = 'op-continue-token';

const SENDER_URL = 'https://wallet.example/alice';
const RECEIVER_URL = 'https://other.example/bob';
const AUTH_SERVER = 'https://auth.wallet.example/3b2f0c1e-5d8a-4b7e-9c6f-1a2b3c4d5e6f'; // multi-tenant shape
const RESOURCE_SERVER = 'https://wallet.example';

const eur = (value: string): OpAmount => ({ value, assetCode: 'EUR', assetScale: 2 });

const SENDER: WalletAddress = { id: SENDER_URL, assetCode: 'EUR', assetScale: 2, authServer: AUTH_SERVER, resourceServer: RESOURCE_SERVER };
const RECEIVER: WalletAddress = {
  id: RECEIVER_URL,
  assetCode: 'EUR',
  assetScale: 2,
  authServer: 'https://auth.other.example',
  resourceServer: 'https://other.example',
};

function transferRow(fields: Partial<OpTransferEntity> = {}): OpTransferEntity {
  const now = new Date();
  return {
    id: randomUUID(),
    tenantId: 'tenant-1',
    clientId: 'client-1',
    requestId: randomUUID(),
    requestHash: 'a'.repeat(64),
    mandateId: null,
    senderWalletAddress: SENDER_URL,
    receiver: RECEIVER_URL,
    debitAmount: eur('1000'),
    receiveAmount: null,
    redirectUri: null,
    metadata: null,
    status: 'quoting',
    statusReason: null,
    incomingPaymentUrl: 'https://other.example/incoming-payments/ip-1',
    quoteUrl: null,
    quoteExpiresAt: null,
    quoteDebitAmount: null,
    quoteReceiveAmount: null,
    outgoingPaymentUrl: null,
    sentAmount: null,
    paymentRequestedAt: null,
    incomingPaymentClosedAt: null,
    interactRedirect: null,
    clientNonce: null,
    finishNonce: null,
    grantEndpoint: null,
    continueUri: null,
    continueTokenSealed: null,
    accessTokenSealed: null,
    accessTokenManageUrl: null,
    accessTokenExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** The few repository methods the activities use, over one in-memory row per transfer. */
function fakeTransfers(...rows: OpTransferEntity[]) {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const repo = {
    findById: async (id: string) => {
      const row = byId.get(id);
      return row ? { ...row } : null; // a copy, as a database read would be
    },
    update: async (id: string, fields: Partial<OpTransferEntity>) => {
      const row = byId.get(id);
      if (row) Object.assign(row, fields, { updatedAt: new Date() });
    },
    recordStatus: jest.fn(async () => undefined),
  };
  return { repo: repo as unknown as OpTransferRepository, row: (id: string) => byId.get(id)! };
}

function quote(id: string, debit: OpAmount, expiresAt?: string): Quote {
  return { id, walletAddress: SENDER_URL, receiver: 'https://other.example/incoming-payments/ip-1', debitAmount: debit, receiveAmount: debit, expiresAt };
}

function outgoingPayment(sent: string, debit = '1000'): OutgoingPayment {
  return {
    id: `${RESOURCE_SERVER}/outgoing-payments/op-1`,
    walletAddress: SENDER_URL,
    receiver: 'https://other.example/incoming-payments/ip-1',
    failed: false,
    debitAmount: eur(debit),
    receiveAmount: eur(debit),
    sentAmount: eur(sent),
  };
}

/** A jest mock typed as the adapter method it stands for. */
function fn<K extends keyof OpenPaymentsAdapter>(impl: OpenPaymentsAdapter[K]): jest.MockedFunction<OpenPaymentsAdapter[K]> {
  return jest.fn(impl as (...args: never[]) => unknown) as unknown as jest.MockedFunction<OpenPaymentsAdapter[K]>;
}

/** An ASE that answers everything successfully unless a test overrides a method. */
function stubWallet(): jest.Mocked<OpenPaymentsAdapter> {
  return {
    getWalletAddress: fn<'getWalletAddress'>(async (url: string) => (url === SENDER_URL ? SENDER : RECEIVER)),
    requestGrant: fn<'requestGrant'>(async (_authServer, request) =>
      request.interact
        ? {
            kind: 'pending' as const,
            interactRedirect: `${AUTH_SERVER}/interact/i-1`,
            finishNonce: 'finish-nonce-1',
            continue: { uri: `${AUTH_SERVER}/continue/c-1`, accessToken: 'continue-token-plain' },
          }
        : { kind: 'finalized' as const, accessToken: { value: 'quote-token-plain', manage: `${AUTH_SERVER}/token/q-1` } },
    ),
    continueGrant: fn<'continueGrant'>(async () => ({
      kind: 'finalized' as const,
      accessToken: { value: 'access-token-plain', manage: `${AUTH_SERVER}/token/a-1`, expiresIn: 600 },
      continue: { uri: `${AUTH_SERVER}/continue/c-2`, accessToken: 'continue-token-2-plain' },
    })),
    rotateToken: fn<'rotateToken'>(async () => ({ value: 'rotated-token-plain', manage: `${AUTH_SERVER}/token/a-2`, expiresIn: 600 })),
    revokeGrant: fn<'revokeGrant'>(async () => undefined),
    createIncomingPayment: fn<'createIncomingPayment'>(async () => ({
      id: 'https://other.example/incoming-payments/ip-1',
      walletAddress: RECEIVER_URL,
      completed: false,
      receivedAmount: eur('0'),
    })),
    createQuote: fn<'createQuote'>(async () => quote(`${RESOURCE_SERVER}/quotes/q-1`, eur('1000'))),
    createOutgoingPayment: fn<'createOutgoingPayment'>(async () => outgoingPayment('0')),
    getOutgoingPayment: fn<'getOutgoingPayment'>(async () => outgoingPayment('1000')),
    listOutgoingPayments: fn<'listOutgoingPayments'>(async () => ({ result: [], hasNextPage: false })),
    getIncomingPayment: fn<'getIncomingPayment'>(async (url) => ({ id: url, walletAddress: RECEIVER_URL, completed: false, receivedAmount: eur('0') })),
    completeIncomingPayment: fn<'completeIncomingPayment'>(async (url) => ({ id: url, walletAddress: RECEIVER_URL, completed: true, receivedAmount: eur('0') })),
  };
}

const testKeys = loadConfig({ NODE_ENV: 'test' }).keys;
const secrets = new SecretBox(testKeys.encryption);

function setUp(row: OpTransferEntity, wallet = stubWallet(), attempt = 1, quoteExpiryMarginMs?: number) {
  const transfers = fakeTransfers(row);
  const resolutions = { record: jest.fn(async (r: unknown) => r) };
  const sut: OpTransferActivities = createOpTransferActivities({
    transfers: transfers.repo,
    resolutions: resolutions as unknown as OpOutcomeResolutionRepository,
    walletAdapters: { 'open-payments': wallet },
    secrets,
    publicBaseUrl: 'https://clearway.example',
    callbackSigner: new HmacSigner(testKeys.hmac),
    logger: pino({ level: 'silent' }),
    quoteExpiryMarginMs,
  });
  // Refusals are the subject here: keep the activity failure logs out of the output.
  const activityEnv = new MockActivityEnvironment({ attempt }, { logger: new DefaultLogger('ERROR', () => undefined) });
  /** Runs one activity as the worker would, inside an activity context. */
  const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => activityEnv.run(fn, ...args);
  return { sut, wallet, run, row: () => transfers.row(row.id), transfers: transfers.repo, resolutions };
}

/** A row the PSU has approved: access and continue tokens sealed as continueGrant stores them. */
function approvedRow(fields: Partial<OpTransferEntity> = {}): OpTransferEntity {
  return transferRow({
    status: 'sending',
    quoteUrl: `${RESOURCE_SERVER}/quotes/q-1`,
    quoteDebitAmount: eur('1000'),
    continueUri: `${AUTH_SERVER}/continue/c-1`,
    continueTokenSealed: secrets.seal('continue-token-plain', CONTINUE_TOKEN),
    accessTokenSealed: secrets.seal('access-token-plain', ACCESS_TOKEN),
    accessTokenManageUrl: `${AUTH_SERVER}/token/a-1`,
    accessTokenExpiresAt: new Date(Date.now() + 10 * 60_000),
    ...fields,
  });
}

function refusal(code: string) {
  return { type: 'TransferRefused', nonRetryable: true, details: [{ httpStatus: 400, code, message: expect.any(String) }] };
}

describe('Open Payments transfer activities', () => {
  describe('access token rotation', () => {
    it('rotates a token that expires within 30 s, seals and stores the new one, and pays with it', async () => {
      const expiresAt = new Date(Date.now() + 20_000);
      const { sut, wallet, run, row } = setUp(approvedRow({ accessTokenExpiresAt: expiresAt }));

      await run(sut.createOutgoingPayment, row().id);

      expect(wallet.rotateToken).toHaveBeenCalledTimes(1);
      expect(wallet.rotateToken).toHaveBeenCalledWith({ value: 'access-token-plain', manage: `${AUTH_SERVER}/token/a-1` });
      expect(wallet.createOutgoingPayment.mock.calls[0][1]).toBe('rotated-token-plain');
      expect(secrets.open(row().accessTokenSealed!, ACCESS_TOKEN)).toBe('rotated-token-plain');
      expect(row().accessTokenSealed).not.toContain('rotated-token-plain');
      expect(row().accessTokenManageUrl).toBe(`${AUTH_SERVER}/token/a-2`);
      expect(row().accessTokenExpiresAt!.getTime()).toBeGreaterThan(Date.now() + 590_000);
    });

    it('keeps a token far from expiry (and one without expiry) as it is', async () => {
      for (const accessTokenExpiresAt of [new Date(Date.now() + 5 * 60_000), null]) {
        const { sut, wallet, run, row } = setUp(approvedRow({ accessTokenExpiresAt, outgoingPaymentUrl: `${RESOURCE_SERVER}/outgoing-payments/op-1` }));
        const sealedBefore = row().accessTokenSealed;

        await expect(run(sut.getOutgoingPaymentProgress, row().id)).resolves.toEqual({ complete: true, failed: false });

        expect(wallet.rotateToken).not.toHaveBeenCalled();
        expect(wallet.getOutgoingPayment).toHaveBeenCalledWith(`${RESOURCE_SERVER}/outgoing-payments/op-1`, 'access-token-plain');
        expect(row().accessTokenSealed).toBe(sealedBefore);
      }
    });
  });

  it('stores every GNAP token sealed: no plaintext token in the row, each opens only under its purpose', async () => {
    const { sut, run, row } = setUp(transferRow({ quoteUrl: `${RESOURCE_SERVER}/quotes/q-1`, quoteDebitAmount: eur('1000') }));

    await run(sut.requestOutgoingPaymentGrant, row().id);
    const { clientNonce, finishNonce } = row();
    const hash = interactionHash({ clientNonce: clientNonce!, finishNonce: finishNonce!, interactRef: 'ref-1', grantEndpoint: AUTH_SERVER });
    await run(sut.continueGrant, row().id, 'ref-1', hash);

    const stored = JSON.stringify(row());
    for (const plaintext of ['continue-token-plain', 'continue-token-2-plain', 'access-token-plain']) expect(stored).not.toContain(plaintext);
    expect(secrets.open(row().accessTokenSealed!, ACCESS_TOKEN)).toBe('access-token-plain');
    expect(secrets.open(row().continueTokenSealed!, CONTINUE_TOKEN)).toBe('continue-token-2-plain');
    expect(() => secrets.open(row().accessTokenSealed!, CONTINUE_TOKEN)).toThrow();
  });

  describe('grant continuation whose answer was lost', () => {
    const refused = () => new BankError('rejected', 'POST wallet.example/auth/continue/c-1 → HTTP 401 (request_denied)', { httpStatus: 401, messages: [{ category: 'ERROR', code: 'request_denied' }] });
    async function continued(attempt: number) {
      const wallet = stubWallet();
      wallet.continueGrant.mockRejectedValue(refused());
      const { sut, run, row } = setUp(transferRow({ quoteUrl: `${RESOURCE_SERVER}/quotes/q-1`, quoteDebitAmount: eur('1000') }), wallet, attempt);
      await run(sut.requestOutgoingPaymentGrant, row().id);
      const hash = interactionHash({ clientNonce: row().clientNonce!, finishNonce: row().finishNonce!, interactRef: 'ref-1', grantEndpoint: AUTH_SERVER });
      const outcome = await run(sut.continueGrant, row().id, 'ref-1', hash).then(() => undefined, (e: unknown) => e);
      return { outcome, wallet, row };
    }

    it('a refusal after an unanswered attempt: grant_answer_lost, nothing paid, the grant revoked with its unseen token, no wallet host in the text', async () => {
      const { outcome, wallet, row } = await continued(2);
      expect(outcome).toMatchObject(refusal('grant_answer_lost'));
      expect((outcome as Error).message).toMatch(/answer to the grant continuation was lost.*Nothing was paid and the grant was revoked/);
      expect((outcome as Error).message).not.toMatch(/wallet\.example|continue\/c-1/);
      expect(wallet.revokeGrant).toHaveBeenCalledWith({ uri: `${AUTH_SERVER}/continue/c-1`, accessToken: 'continue-token-plain' });
      expect(wallet.createOutgoingPayment).not.toHaveBeenCalled();
      expect(row()).toMatchObject({ accessTokenSealed: null, continueTokenSealed: null });
    });

    it('the same refusal on a first attempt is the wallet\'s own answer: a bank rejection, the grant not revoked here', async () => {
      const { outcome, wallet } = await continued(1);
      expect(outcome).toMatchObject({ type: 'BankRejected' });
      expect(wallet.revokeGrant).not.toHaveBeenCalled();
    });
  });

  describe('outgoing payment', () => {
    it('marks the row before the first request, and sends an Idempotency-Key derived from the transfer and its quote', async () => {
      const { sut, wallet, run, row } = setUp(approvedRow());

      await expect(run(sut.createOutgoingPayment, row().id)).resolves.toEqual({ outcome: 'created' });

      const [, token, body, key] = wallet.createOutgoingPayment.mock.calls[0]!;
      expect(token).toBe('access-token-plain');
      expect(body).toEqual({ walletAddress: SENDER_URL, quoteId: `${RESOURCE_SERVER}/quotes/q-1`, metadata: { clearwayTransferId: row().id } });
      expect(key).toBe(deriveUuid(CLEARWAY_ID_NAMESPACE, row().id, 'outgoing-payment', `${RESOURCE_SERVER}/quotes/q-1`));
      expect(row().paymentRequestedAt).toBeInstanceOf(Date);
      expect(row().outgoingPaymentUrl).toBe(`${RESOURCE_SERVER}/outgoing-payments/op-1`);
      expect(wallet.listOutgoingPayments).not.toHaveBeenCalled(); // nothing was ever sent before
    });

    it('after an unanswered request, looks the payment up first: found by its metadata, adopted, never sent again', async () => {
      const wallet = stubWallet();
      wallet.createOutgoingPayment.mockRejectedValueOnce(new BankError('unavailable', 'POST /outgoing-payments: timed out'));
      const { sut, run, row } = setUp(approvedRow(), wallet);
      const id = row().id;
      await expect(run(sut.createOutgoingPayment, id)).rejects.toMatchObject({ type: 'BankUnavailable' });
      expect(row().paymentRequestedAt).toBeInstanceOf(Date);

      // The wallet did create it: the second page of the grant's own payments holds it.
      const landed = { ...outgoingPayment('0'), id: `${RESOURCE_SERVER}/outgoing-payments/op-lost`, quoteId: undefined, metadata: { clearwayTransferId: id, order: 'A-1' } };
      const other = { ...outgoingPayment('0'), id: `${RESOURCE_SERVER}/outgoing-payments/op-other`, metadata: { clearwayTransferId: 'another' } };
      wallet.listOutgoingPayments
        .mockResolvedValueOnce({ result: [other], hasNextPage: true, endCursor: 'c1' })
        .mockResolvedValueOnce({ result: [landed], hasNextPage: false, endCursor: 'c2' });

      await expect(run(sut.createOutgoingPayment, id)).resolves.toEqual({ outcome: 'created' });

      expect(wallet.createOutgoingPayment).toHaveBeenCalledTimes(1);
      expect(wallet.listOutgoingPayments.mock.calls.map((c) => c[2])).toEqual([
        { walletAddress: SENDER_URL, first: 100 },
        { walletAddress: SENDER_URL, first: 100, cursor: 'c1' },
      ]);
      expect(row().outgoingPaymentUrl).toBe(`${RESOURCE_SERVER}/outgoing-payments/op-lost`);
    });

    it('after an unanswered request and an empty lookup, the same quote is sent again (the same key): the wallet pays a quote once', async () => {
      const wallet = stubWallet();
      wallet.createOutgoingPayment.mockRejectedValueOnce(new BankError('unavailable', 'wallet answered 503', { httpStatus: 503 }));
      const { sut, run, row } = setUp(approvedRow(), wallet);
      await run(sut.createOutgoingPayment, row().id).catch(() => undefined);

      await expect(run(sut.createOutgoingPayment, row().id)).resolves.toEqual({ outcome: 'created' });

      const [first, retry] = wallet.createOutgoingPayment.mock.calls;
      expect(retry![2]).toEqual(first![2]);
      expect(retry![3]).toBe(first![3]);
    });

    it('a 4xx on the only request is a definite refusal; on a repeated one it is ambiguous (an earlier one may have landed)', async () => {
      const wallet = stubWallet();
      const forbidden = new BankError('rejected', 'POST /outgoing-payments → HTTP 403 (limit_exceeded)', { httpStatus: 403, messages: [{ category: 'ERROR', code: 'limit_exceeded' }] });
      wallet.createOutgoingPayment.mockRejectedValue(forbidden);
      const { sut, run, row } = setUp(approvedRow(), wallet);

      await expect(run(sut.createOutgoingPayment, row().id)).resolves.toEqual({ outcome: 'refused', code: 'limit_exceeded', message: forbidden.message });
      await expect(run(sut.createOutgoingPayment, row().id)).resolves.toEqual({ outcome: 'ambiguous', reason: expect.stringMatching(/limit_exceeded.*earlier one went unanswered/) });
    });

    it('findOutgoingPayment: absent at once when nothing was sent; after a request, absent only once the quote expired (+1 min)', async () => {
      const expiresAt = new Date(Date.now() + 3 * 60_000);
      const { sut, run, row, transfers } = setUp(approvedRow({ quoteExpiresAt: expiresAt }));
      await expect(run(sut.findOutgoingPayment, row().id)).resolves.toEqual({ outcome: 'absent', reason: 'No payment was ever requested from the wallet' });

      await transfers.update(row().id, { paymentRequestedAt: new Date() });
      const early = await run(sut.findOutgoingPayment, row().id);
      expect(early).toMatchObject({ outcome: 'not_yet' });
      expect((early as { retryInMs: number }).retryInMs).toBeGreaterThan(3 * 60_000);
      expect((early as { retryInMs: number }).retryInMs).toBeLessThanOrEqual(4 * 60_000);

      await transfers.update(row().id, { quoteExpiresAt: new Date(Date.now() - 61_000) });
      await expect(run(sut.findOutgoingPayment, row().id)).resolves.toEqual({ outcome: 'absent', reason: expect.stringMatching(/never created.*after its quote expired/) });
    });

    it('findOutgoingPayment: the margin after the quote expiry is a setting (OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS)', async () => {
      const { sut, run, row, transfers } = setUp(approvedRow({ quoteExpiresAt: new Date(Date.now() - 4_000), paymentRequestedAt: new Date() }), stubWallet(), 1, 10_000);
      const early = await run(sut.findOutgoingPayment, row().id);
      expect(early).toMatchObject({ outcome: 'not_yet' });
      expect((early as { retryInMs: number }).retryInMs).toBeGreaterThan(4_000);
      expect((early as { retryInMs: number }).retryInMs).toBeLessThanOrEqual(6_000);

      await transfers.update(row().id, { quoteExpiresAt: new Date(Date.now() - 11_000) });
      await expect(run(sut.findOutgoingPayment, row().id)).resolves.toMatchObject({ outcome: 'absent' });
    });
  });

  describe('progress (fees)', () => {
    it.each([
      { case: 'sent net of a fee: sentAmount reached receiveAmount, below debitAmount', payment: { debit: '1012', receive: '1000', sent: '1000', failed: false }, expected: { complete: true, failed: false } },
      { case: 'partly sent', payment: { debit: '1012', receive: '1000', sent: '400', failed: false }, expected: { complete: false, failed: false } },
      { case: 'failed at the wallet', payment: { debit: '1012', receive: '1000', sent: '400', failed: true }, expected: { complete: false, failed: true } },
    ])('$case', async ({ payment, expected }) => {
      const wallet = stubWallet();
      wallet.getOutgoingPayment.mockResolvedValue({ ...outgoingPayment(payment.sent, payment.debit), receiveAmount: eur(payment.receive), failed: payment.failed });
      const { sut, run, row } = setUp(approvedRow({ outgoingPaymentUrl: `${RESOURCE_SERVER}/outgoing-payments/op-1` }), wallet);

      await expect(run(sut.getOutgoingPaymentProgress, row().id)).resolves.toEqual(expected);
      expect(row().sentAmount).toEqual(eur(payment.sent));
    });

    it('across assets, asks the receiver\'s incoming payment (the one Clearway created) what arrived', async () => {
      const wallet = stubWallet();
      const usd = (value: string) => ({ value, assetCode: 'USD', assetScale: 2 });
      wallet.getOutgoingPayment.mockResolvedValue({ ...outgoingPayment('900'), receiveAmount: usd('1000') });
      wallet.getIncomingPayment.mockResolvedValueOnce({ id: 'ip', walletAddress: RECEIVER_URL, completed: false, receivedAmount: usd('999') });
      wallet.getIncomingPayment.mockResolvedValueOnce({ id: 'ip', walletAddress: RECEIVER_URL, completed: false, receivedAmount: usd('1000') });
      const { sut, run, row } = setUp(approvedRow({ outgoingPaymentUrl: `${RESOURCE_SERVER}/outgoing-payments/op-1` }), wallet);

      await expect(run(sut.getOutgoingPaymentProgress, row().id)).resolves.toEqual({ complete: false, failed: false });
      await expect(run(sut.getOutgoingPaymentProgress, row().id)).resolves.toEqual({ complete: true, failed: false });
      expect(wallet.getIncomingPayment).toHaveBeenCalledWith('https://other.example/incoming-payments/ip-1', 'quote-token-plain');
    });
  });

  describe('the incoming payment Clearway created', () => {
    it('is completed once, with a complete grant at the receiver', async () => {
      const { sut, wallet, run, row } = setUp(approvedRow());

      await run(sut.closeIncomingPayment, row().id);
      await run(sut.closeIncomingPayment, row().id);

      expect(wallet.completeIncomingPayment).toHaveBeenCalledTimes(1);
      expect(wallet.completeIncomingPayment).toHaveBeenCalledWith('https://other.example/incoming-payments/ip-1', 'quote-token-plain');
      const grant = wallet.requestGrant.mock.calls.find((c) => c[0] === RECEIVER.authServer)!;
      expect(grant[1].access).toEqual([{ type: 'incoming-payment', actions: ['complete', 'read'], identifier: RECEIVER_URL }]);
      expect(row().incomingPaymentClosedAt).toBeInstanceOf(Date);
    });

    it('a refusal because it is already completed or expired counts as done; any other refusal does not', async () => {
      const wallet = stubWallet();
      const refusedComplete = new BankError('rejected', 'POST complete → HTTP 400 (invalid_state)', { httpStatus: 400 });
      wallet.completeIncomingPayment.mockRejectedValue(refusedComplete);
      wallet.getIncomingPayment.mockResolvedValueOnce({ id: 'ip', walletAddress: RECEIVER_URL, completed: false, receivedAmount: eur('0'), expiresAt: new Date(Date.now() - 1000).toISOString() });
      const expired = setUp(approvedRow(), wallet);
      await expect(expired.run(expired.sut.closeIncomingPayment, expired.row().id)).resolves.toBeUndefined();

      wallet.getIncomingPayment.mockResolvedValueOnce({ id: 'ip', walletAddress: RECEIVER_URL, completed: false, receivedAmount: eur('0'), expiresAt: new Date(Date.now() + 60_000).toISOString() });
      const open = setUp(approvedRow(), wallet);
      await expect(open.run(open.sut.closeIncomingPayment, open.row().id)).rejects.toMatchObject({ type: 'BankRejected' });
      expect(open.row().incomingPaymentClosedAt).toBeNull();
    });

    it('one the client gave as the receiver is never touched', async () => {
      const given = 'https://other.example/incoming-payments/given-1';
      const { sut, wallet, run, row } = setUp(approvedRow({ receiver: given, incomingPaymentUrl: given }));

      await run(sut.closeIncomingPayment, row().id);

      expect(wallet.completeIncomingPayment).not.toHaveBeenCalled();
    });
  });

  describe('operator rulings', () => {
    it('adopts a named payment only if it is this transfer\'s (its quote or metadata)', async () => {
      const wallet = stubWallet();
      const { sut, run, row } = setUp(approvedRow(), wallet);
      wallet.getOutgoingPayment.mockResolvedValueOnce({ ...outgoingPayment('0'), metadata: { clearwayTransferId: 'someone-else' } });
      await expect(run(sut.adoptOutgoingPayment, row().id, `${RESOURCE_SERVER}/outgoing-payments/x`)).rejects.toMatchObject(refusal('not_this_payment'));
      expect(row().outgoingPaymentUrl).toBeNull();

      wallet.getOutgoingPayment.mockResolvedValueOnce({ ...outgoingPayment('0'), id: `${RESOURCE_SERVER}/outgoing-payments/op-9`, quoteId: `${RESOURCE_SERVER}/quotes/q-1` });
      await run(sut.adoptOutgoingPayment, row().id, `${RESOURCE_SERVER}/outgoing-payments/op-9`);
      expect(row().outgoingPaymentUrl).toBe(`${RESOURCE_SERVER}/outgoing-payments/op-9`);
    });

    it('records the ruling with its tenant, keyed by the unknown episode', async () => {
      const { sut, run, row, resolutions } = setUp(approvedRow());

      await run(sut.recordTransferResolution, { transferId: row().id, seq: 3, decision: 'not_paid', operator: 'ops', note: 'ticket 42' });

      expect(resolutions.record).toHaveBeenCalledWith({
        resolutionKey: `transfer:${row().id}:3`,
        tenantId: 'tenant-1',
        transferId: row().id,
        decision: 'not_paid',
        outgoingPaymentUrl: null,
        operator: 'ops',
        note: 'ticket 42',
      });
    });
  });

  describe('outgoing payment (idempotent steps)', () => {
    it('is skipped when the outgoing payment was already created', async () => {
      const { sut, wallet, run, row } = setUp(approvedRow({ outgoingPaymentUrl: `${RESOURCE_SERVER}/outgoing-payments/op-1` }));

      await run(sut.createOutgoingPayment, row().id);

      expect(wallet.createOutgoingPayment).not.toHaveBeenCalled();
      expect(wallet.getWalletAddress).not.toHaveBeenCalled();
    });
  });

  describe('re-quote after approval', () => {
    it.each([
      { case: 'a higher debit amount', debit: eur('1001') },
      { case: 'another asset', debit: { value: '900', assetCode: 'USD', assetScale: 2 } },
    ])('refuses a new quote with $case (requote_exceeds_grant) and keeps the approved one', async ({ debit }) => {
      const wallet = stubWallet();
      wallet.createQuote.mockResolvedValue(quote(`${RESOURCE_SERVER}/quotes/q-2`, debit));
      const { sut, run, row } = setUp(approvedRow(), wallet);

      const err = await run(sut.createQuote, row().id).catch((e: unknown) => e);

      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err).toMatchObject(refusal('requote_exceeds_grant'));
      expect(row().quoteUrl).toBe(`${RESOURCE_SERVER}/quotes/q-1`);
    });

    it('accepts a new quote within the grant, keeping the grant limit of the first quote', async () => {
      const wallet = stubWallet();
      wallet.createQuote.mockResolvedValue(quote(`${RESOURCE_SERVER}/quotes/q-2`, eur('990'), '2030-01-01T00:00:00.000Z'));
      const { sut, run, row } = setUp(approvedRow(), wallet);

      await run(sut.createQuote, row().id);

      expect(row()).toMatchObject({ quoteUrl: `${RESOURCE_SERVER}/quotes/q-2`, quoteDebitAmount: eur('1000'), quoteReceiveAmount: eur('990') });
      expect(row().quoteExpiresAt).toEqual(new Date('2030-01-01T00:00:00.000Z'));
    });

    it('before approval, any quote sets the amount the grant will be requested for', async () => {
      const wallet = stubWallet();
      wallet.createQuote.mockResolvedValue(quote(`${RESOURCE_SERVER}/quotes/q-1`, eur('1010')));
      const { sut, run, row } = setUp(transferRow(), wallet);

      await run(sut.createQuote, row().id);

      expect(row().quoteDebitAmount).toEqual(eur('1010'));
      expect(wallet.createQuote.mock.calls[0][1]).toBe('quote-token-plain');
    });
  });

  describe('interaction hash', () => {
    async function grantRequested() {
      const ctx = setUp(transferRow({ quoteUrl: `${RESOURCE_SERVER}/quotes/q-1`, quoteDebitAmount: eur('1000') }));
      await expect(ctx.run(ctx.sut.requestOutgoingPaymentGrant, ctx.row().id)).resolves.toEqual({ interactRedirect: `${AUTH_SERVER}/interact/i-1` });
      return ctx;
    }

    it('refuses a wrong hash (hash_mismatch) without continuing the grant', async () => {
      const { sut, wallet, run, row } = await grantRequested();
      const { clientNonce, finishNonce } = row();
      const forOtherRef = interactionHash({ clientNonce: clientNonce!, finishNonce: finishNonce!, interactRef: 'other-ref', grantEndpoint: AUTH_SERVER });

      for (const hash of ['', 'not-the-hash', forOtherRef]) {
        await expect(run(sut.continueGrant, row().id, 'ref-1', hash)).rejects.toMatchObject(refusal('hash_mismatch'));
      }
      expect(wallet.continueGrant).not.toHaveBeenCalled();
      expect(row().accessTokenSealed).toBeNull();
    });

    it('continues the grant with the continue token when the hash is the one interactionHash computes', async () => {
      const { sut, wallet, run, row } = await grantRequested();
      const { clientNonce, finishNonce } = row();
      // The wallet's authServer exactly as given (multi-tenant Rafiki: no trailing slash added).
      expect(row().grantEndpoint).toBe(AUTH_SERVER);
      const hash = interactionHash({ clientNonce: clientNonce!, finishNonce: finishNonce!, interactRef: 'ref-1', grantEndpoint: AUTH_SERVER });

      await run(sut.continueGrant, row().id, 'ref-1', hash);

      expect(wallet.continueGrant).toHaveBeenCalledWith({ uri: `${AUTH_SERVER}/continue/c-1`, accessToken: 'continue-token-plain' }, 'ref-1');
      expect(secrets.open(row().accessTokenSealed!, ACCESS_TOKEN)).toBe('access-token-plain');
      expect(row().continueUri).toBe(`${AUTH_SERVER}/continue/c-2`);
    });
  });

  describe('wallet addresses', () => {
    it.each([
      { role: 'sender', url: SENDER_URL, kind: 'not_found' as const, code: 'invalid_sender' },
      { role: 'receiver', url: RECEIVER_URL, kind: 'not_found' as const, code: 'invalid_receiver' },
      { role: 'receiver', url: RECEIVER_URL, kind: 'protocol' as const, code: 'invalid_receiver' },
    ])('a $kind answer for the $role is refused as $code', async ({ url, kind, code }) => {
      const wallet = stubWallet();
      wallet.getWalletAddress.mockImplementation(async (u) => {
        if (u === url) throw new BankError(kind, `wallet address ${u}: ${kind}`, { httpStatus: kind === 'not_found' ? 404 : 200 });
        return u === SENDER_URL ? SENDER : RECEIVER;
      });
      const { sut, run, row } = setUp(transferRow(), wallet);

      await expect(run(sut.resolveWalletAddresses, row().id)).rejects.toMatchObject(refusal(code));
    });

    it('a 5xx from the wallet server is a retryable BankUnavailable, not a refusal', async () => {
      const wallet = stubWallet();
      wallet.getWalletAddress.mockRejectedValue(new BankError('unavailable', 'wallet answered 503', { httpStatus: 503 }));
      const { sut, run, row } = setUp(transferRow(), wallet);

      const err = await run(sut.resolveWalletAddresses, row().id).catch((e: unknown) => e);

      expect(err).toMatchObject({ type: 'BankUnavailable' });
      expect((err as ApplicationFailure).nonRetryable).toBe(false);
    });

    it.each([
      { amount: 'debitAmount', fields: { debitAmount: { value: '1000', assetCode: 'USD', assetScale: 2 } } },
      { amount: 'debitAmount', fields: { debitAmount: { value: '1000', assetCode: 'EUR', assetScale: 3 } } },
      { amount: 'receiveAmount', fields: { debitAmount: null, receiveAmount: { value: '1000', assetCode: 'GBP', assetScale: 2 } } },
    ])('refuses a $amount in another asset than the wallet (asset_mismatch)', async ({ fields }) => {
      const { sut, run, row } = setUp(transferRow(fields));

      await expect(run(sut.resolveWalletAddresses, row().id)).rejects.toMatchObject(refusal('asset_mismatch'));
    });

    it('accepts matching assets, and does not resolve a receiver that is already an incoming payment', async () => {
      const { sut, wallet, run, row } = setUp(transferRow({ receiver: 'https://other.example/incoming-payments/ip-9' }));

      await expect(run(sut.resolveWalletAddresses, row().id)).resolves.toBeUndefined();

      expect(wallet.getWalletAddress.mock.calls.map((c) => c[0])).toEqual([SENDER_URL]);
    });
  });
});
