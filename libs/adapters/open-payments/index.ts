/**
 * Interledger Open Payments adapter: Clearway as a GNAP client of an ASE's authorization and
 * resource servers. Stateless: grants, tokens and payment ids are the caller's to persist.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { BankError } from '../bank-adapter';
import type { Ed25519Jwk } from '../../security/http-signatures';
import { parseOutboundUrl, OutboundUrlRefused, STRICT_OUTBOUND_POLICY, type OutboundPolicy } from '../../security/outbound-url';
import { OpenPaymentsClient, OUTBOUND_URL_REFUSED, type OpenPaymentsClientOptions } from './client';
import {
  pendingWaitSeconds,
  toGrant,
  toGrantRequestDto,
  toIncomingPayment,
  toOutgoingPayment,
  toPage,
  toQuote,
  toRotatedToken,
  toWalletAddress,
} from './transformers';
import type {
  Grant,
  GrantRequest,
  IncomingPayment,
  OpAccessToken,
  OpAmount,
  OpPage,
  OpenPaymentsAdapter,
  OpenPaymentsIdentity,
  OutgoingPayment,
  Quote,
  WalletAddress,
} from './types';

export type * from './types';
export { INVALID_TOKEN, OUTBOUND_URL_REFUSED, classifyHttpError, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_RESPONSE_BYTES, type OpenPaymentsClientOptions } from './client';
export { outgoingPaymentProgress, quoteExpiry, type OutgoingPaymentProgress } from './transformers';

/** Code of the retryable error thrown when a continued grant is still waiting for the person. */
export const GRANT_PENDING = 'grant_pending';

/**
 * GNAP codes with which an AS refuses to continue a grant it will not (or no longer) honour: a
 * current Rafiki answers a repeated continuation 401 `request_denied` and an unknown or withdrawn
 * one 404 `invalid_continuation`; RFC 9635 §5.1 names a reused interaction reference `too_many_attempts`.
 */
const CONTINUATION_REFUSALS: ReadonlySet<string> = new Set(['request_denied', 'invalid_continuation', 'too_many_attempts']);

/** True when a continuation was refused for good by the AS (see {@link CONTINUATION_REFUSALS}). */
export function isContinuationRefused(err: unknown): boolean {
  return err instanceof BankError && (err.kind === 'rejected' || err.kind === 'not_found') && (err.details.messages ?? []).some((m) => CONTINUATION_REFUSALS.has(m.code));
}

/** Rafiki refuses a continuation sooner than `wait` after the last one with 400 `too_fast`: wait and try again. */
const TOO_FAST_RETRY_MS = 5_000;

/** `$wallet.example/alice` (payment pointer) → `https://wallet.example/alice`; URLs unchanged. */
export function walletAddressUrl(addressOrPointer: string): string {
  return addressOrPointer.startsWith('$') ? `https://${addressOrPointer.slice(1)}` : addressOrPointer;
}

function resourceUrl(resourceServer: string, path: string): string {
  return `${resourceServer.replace(/\/+$/, '')}${path}`;
}

export { interactionHash, verifyInteractionHash } from '../../security/interaction-hash';

/** Clearway's GNAP client identity from configuration; the key must be ed25519 (PKCS#8 PEM). */
export function loadIdentity(config: { walletAddress: string; keyId: string; privateKeyPem: string }): OpenPaymentsIdentity {
  if (!config.walletAddress || !config.keyId) throw new Error('Open Payments identity needs walletAddress and keyId');
  const privateKey = createPrivateKey(config.privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('Open Payments identity key must be ed25519');
  return { walletAddress: config.walletAddress, keyId: config.keyId, privateKey };
}

/** A new ed25519 key: the PEM to keep secret and the JWK to publish in the wallet's jwks.json. */
export function generateIdentityKey(keyId: string = randomUUID()): { privateKeyPem: string; publicJwk: Ed25519Jwk } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const { x } = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string };
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicJwk: { kid: keyId, alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', x },
  };
}

export class OpenPaymentsHttpAdapter implements OpenPaymentsAdapter {
  private readonly client: OpenPaymentsClient;
  private readonly policy: OutboundPolicy;

  constructor(
    private readonly identity: OpenPaymentsIdentity,
    opts: OpenPaymentsClientOptions = {},
  ) {
    this.client = new OpenPaymentsClient(identity, opts);
    this.policy = opts.policy ?? STRICT_OUTBOUND_POLICY;
  }

  async getWalletAddress(url: string): Promise<WalletAddress> {
    const res = await this.client.send({ method: 'GET', url: walletAddressUrl(url), server: 'wallet' });
    return toWalletAddress(res.body);
  }

  async requestGrant(authServer: string, request: GrantRequest): Promise<Grant> {
    const res = await this.client.send({
      method: 'POST',
      // The grant endpoint is the wallet's authServer exactly as given: it is also the last input of
      // the interaction hash, so nothing may be appended (see libs/security/interaction-hash.ts).
      url: authServer,
      server: 'auth',
      body: toGrantRequestDto(request, this.identity.walletAddress),
    });
    return this.checkedInteraction(toGrant(res.body, 'grant request'));
  }

  /**
   * The interaction URL is not called by Clearway but handed to the PSU's browser: it must still be
   * https outside development and not name an internal address (DNS is the browser's business).
   */
  private checkedInteraction(grant: Grant): Grant {
    if (!('interactRedirect' in grant)) return grant;
    try {
      parseOutboundUrl(grant.interactRedirect, this.policy);
    } catch (err) {
      if (!(err instanceof OutboundUrlRefused)) throw err;
      throw new BankError('protocol', `grant request: interaction URL refused (${err.message})`, {
        messages: [{ category: 'ERROR', code: OUTBOUND_URL_REFUSED, text: `interaction URL ${err.message}` }],
      });
    }
    return grant;
  }

  /**
   * A continue answered with neither token nor interaction means the person has not decided yet:
   * thrown as retryable `unavailable` (code {@link GRANT_PENDING}) with the AS's `wait` as
   * `retryAfterMs`, so the caller's retry policy does the polling.
   */
  async continueGrant(cont: { uri: string; accessToken: string }, interactRef?: string): Promise<Grant> {
    const res = await this.client
      .send({
        method: 'POST',
        url: cont.uri,
        server: 'auth',
        token: cont.accessToken,
        body: interactRef === undefined ? undefined : { interact_ref: interactRef },
      })
      .catch((err: unknown) => {
        // Nothing was done: the same continuation, later, is what the AS asks for.
        if (err instanceof BankError && err.details.httpStatus === 400 && (err.details.messages ?? []).some((m) => m.code === 'too_fast')) {
          throw new BankError('rate_limited', err.message, { ...err.details, retryAfterMs: err.details.retryAfterMs ?? TOO_FAST_RETRY_MS });
        }
        throw err;
      });
    const wait = pendingWaitSeconds(res.body);
    if (wait !== undefined) {
      throw new BankError('unavailable', 'grant continuation: the grant is still pending', {
        httpStatus: res.status,
        retryAfterMs: wait * 1000,
        messages: [{ category: 'ERROR', code: GRANT_PENDING }],
      });
    }
    return toGrant(res.body, 'grant continuation');
  }

  async rotateToken(token: OpAccessToken): Promise<OpAccessToken> {
    const res = await this.client.send({ method: 'POST', url: token.manage, server: 'auth', token: token.value });
    return toRotatedToken(res.body);
  }

  async revokeGrant(cont: { uri: string; accessToken: string }): Promise<void> {
    await this.client.send({ method: 'DELETE', url: cont.uri, server: 'auth', token: cont.accessToken });
  }

  async createIncomingPayment(
    resourceServer: string,
    token: string,
    body: { walletAddress: string; incomingAmount?: OpAmount; expiresAt?: string; metadata?: Record<string, unknown> },
  ): Promise<IncomingPayment> {
    const res = await this.client.send({ method: 'POST', url: resourceUrl(resourceServer, '/incoming-payments'), server: 'resource', token, body });
    return toIncomingPayment(res.body);
  }

  async createQuote(
    resourceServer: string,
    token: string,
    body: { walletAddress: string; receiver: string; debitAmount?: OpAmount; receiveAmount?: OpAmount },
  ): Promise<Quote> {
    const res = await this.client.send({ method: 'POST', url: resourceUrl(resourceServer, '/quotes'), server: 'resource', token, body: { method: 'ilp', ...body } });
    return toQuote(res.body);
  }

  async createOutgoingPayment(
    resourceServer: string,
    token: string,
    body: { walletAddress: string; quoteId: string; metadata?: Record<string, unknown> },
    idempotencyKey: string,
  ): Promise<OutgoingPayment> {
    const res = await this.client.send({
      method: 'POST',
      url: resourceUrl(resourceServer, '/outgoing-payments'),
      server: 'resource',
      token,
      body,
      headers: { 'Idempotency-Key': idempotencyKey },
    });
    return toOutgoingPayment(res.body);
  }

  async getOutgoingPayment(url: string, token: string): Promise<OutgoingPayment> {
    const res = await this.client.send({ method: 'GET', url, server: 'resource', token });
    return toOutgoingPayment(res.body);
  }

  async listOutgoingPayments(
    resourceServer: string,
    token: string,
    query: { walletAddress: string; first: number; cursor?: string },
  ): Promise<OpPage<OutgoingPayment>> {
    const params = new URLSearchParams({ 'wallet-address': query.walletAddress, first: String(query.first) });
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    const res = await this.client.send({ method: 'GET', url: resourceUrl(resourceServer, `/outgoing-payments?${params}`), server: 'resource', token });
    return toPage(res.body, 'outgoing payment list', toOutgoingPayment);
  }

  async getIncomingPayment(url: string, token: string): Promise<IncomingPayment> {
    const res = await this.client.send({ method: 'GET', url, server: 'resource', token });
    return toIncomingPayment(res.body);
  }

  async completeIncomingPayment(url: string, token: string): Promise<IncomingPayment> {
    const res = await this.client.send({ method: 'POST', url: `${url.replace(/\/+$/, '')}/complete`, server: 'resource', token });
    return toIncomingPayment(res.body);
  }
}
