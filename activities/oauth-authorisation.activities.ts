import type { Logger } from 'pino';
import { isBankError, type BankAdapter, type BankConnection, type BankProtocol } from '../libs/adapters/bank-adapter';
import { bankConnectionFor, type SandboxUrls } from '../libs/adapters/connection';
import type { BankGrant, OAuthAuthorisationResponse } from '../libs/adapters/oauth-sca';
import { CLEARWAY_ID_NAMESPACE, deriveUuid } from '../libs/domain/ids';
import type { ScaStatus } from '../libs/domain/transaction-status';
import type { ConsentRepository } from '../libs/persistence/consent.repository';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { PaymentRepository } from '../libs/persistence/payment.repository';
import type { BankGrants } from '../libs/security/bank-grants';
import { oauthCallbackUrl, oauthState } from '../libs/security/callback-state';
import { OAUTH_RESPONSE_PURPOSE } from '../libs/security/handoff-purposes';
import type { HmacSigner } from '../libs/security/hmac-signer';
import type { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import type { OAuthCompletionSummary } from '../workflows/shared/oauth-authorisation';
import { failure, FailureType } from '../workflows/shared/retry-policies';
import { toActivityFailure } from './bank-failure';
import { logicalCallRequestId } from './request-ids';

export interface OAuthAuthorisationActivityDeps {
  payments: PaymentRepository;
  consents: ConsentRepository;
  directory: DirectoryRepository;
  adapterFor: (protocol: BankProtocol) => BankAdapter;
  sandboxUrls: SandboxUrls;
  publicBaseUrl: string;
  callbackSigner: HmacSigner;
  handoffs: SensitiveHandoffs;
  grants: BankGrants;
  logger: Logger;
}

/**
 * OAuth/OIDC redirect SCA, for any protocol whose adapter implements `exchangeAuthorisationCode`:
 * the PSU's answer is opened from its sealed hand-off, the code redeemed once (the tokens are
 * sealed into `bank_grants` before anything else happens, so a retry never needs the code again),
 * then the payment or consent is completed at the bank. Only protocol-neutral statuses go back.
 */
export function createOAuthAuthorisationActivities(deps: OAuthAuthorisationActivityDeps) {
  async function bank(bicFi: string): Promise<{ adapter: BankAdapter; conn: BankConnection }> {
    const aspsp = await deps.directory.findAspsp(bicFi);
    if (!aspsp) throw failure(FailureType.BankRejected, `ASPSP ${bicFi} not found`);
    return { adapter: deps.adapterFor(aspsp.protocol), conn: bankConnectionFor(aspsp, deps.sandboxUrls) };
  }

  /**
   * The grant for this payment or consent: stored by an earlier attempt, or bought now with the
   * code. `refused` when the PSU or the bank said no (an OAuth error, a code or ID token refused).
   */
  async function redeem(
    owner: 'payment' | 'consent',
    resourceId: string,
    tenantId: string,
    handoffId: string,
    exchange: (adapter: BankAdapter, conn: BankConnection, response: OAuthAuthorisationResponse) => Promise<BankGrant>,
    bicFi: string,
  ): Promise<{ grant: BankGrant } | { refused: string } | undefined> {
    const stored = await deps.grants.load(owner, resourceId);
    if (stored) return { grant: stored };
    const sealed = await deps.handoffs.open(tenantId, handoffId, OAUTH_RESPONSE_PURPOSE);
    if (sealed === undefined) return undefined;
    const response = JSON.parse(sealed) as OAuthAuthorisationResponse;
    if (response.error || !response.code) {
      await deps.handoffs.discard(handoffId);
      return { refused: response.error ?? 'no_code' };
    }
    const { adapter, conn } = await bank(bicFi);
    let grant: BankGrant;
    try {
      grant = await exchange(adapter, conn, response);
    } catch (err) {
      // The code is single use: a refusal is final; anything else is retried with the same code.
      if (isBankError(err) && err.kind === 'rejected') {
        await deps.handoffs.discard(handoffId);
        deps.logger.warn({ [`${owner}Id`]: resourceId, error: err.message }, 'the bank refused the authorisation code');
        return { refused: 'code_refused' };
      }
      return toActivityFailure(err);
    }
    await deps.grants.save(owner, resourceId, tenantId, grant);
    await deps.handoffs.discard(handoffId);
    return { grant };
  }

  const redirectFor = (resource: 'payments' | 'consents', id: string) => ({
    redirectUri: oauthCallbackUrl(deps.publicBaseUrl),
    state: oauthState(deps.callbackSigner, { resource, id }),
  });

  return {
    async completeOAuthAuthorisationAtBank(paymentId: string, handoffId: string): Promise<OAuthCompletionSummary> {
      const payment = await deps.payments.findById(paymentId);
      if (!payment?.bankPaymentId) throw failure(FailureType.PaymentNotFound, `Payment ${paymentId} was never initiated at the bank`);
      const [authorisation] = (await deps.payments.listAuthorisations(payment.tenantId, paymentId)).slice(-1);
      const authorisationId = authorisation?.authorisationId ?? payment.bankPaymentId;
      const redeemed = await redeem(
        'payment',
        paymentId,
        payment.tenantId,
        handoffId,
        (adapter, conn, response) => {
          if (!adapter.exchangeAuthorisationCode) throw failure(FailureType.BankRejected, `${adapter.protocol} has no OAuth authorisation`);
          return adapter.exchangeAuthorisationCode(
            conn,
            { kind: 'payment', bankResourceId: payment.bankPaymentId!, authorisationId, redirect: redirectFor('payments', paymentId), requestId: logicalCallRequestId(paymentId, 'oauth-token') },
            response,
          );
        },
        payment.bicFi,
      );
      if (!redeemed) return { outcome: 'none' };
      if ('refused' in redeemed) {
        const sca = { raw: redeemed.refused, normalised: 'failed' as const };
        await deps.payments.updateAuthorisationStatus(paymentId, authorisationId, sca);
        return { outcome: 'completed', scaStatus: 'failed', rawScaStatus: redeemed.refused };
      }
      const { adapter, conn } = await bank(payment.bicFi);
      const ref = {
        bankPaymentId: payment.bankPaymentId,
        paymentProduct: payment.paymentProduct,
        authorisationId,
        requestId: logicalCallRequestId(paymentId, 'oauth-complete'),
        // The same key on every attempt: a bank that honours it creates the payment once.
        idempotencyKey: deriveUuid(CLEARWAY_ID_NAMESPACE, paymentId, 'oauth-complete'),
        psu: { psuId: payment.psuId ?? undefined, psuIpAddress: payment.psuIpAddress ?? undefined },
      };
      const done = adapter.completePaymentAuthorisation
        ? await adapter.completePaymentAuthorisation(conn, ref, redeemed.grant).catch(toActivityFailure)
        : { scaStatus: { raw: 'finalised', normalised: 'finalised' as const } };
      if ('bankPaymentId' in done && done.bankPaymentId && done.bankPaymentId !== payment.bankPaymentId) {
        await deps.payments.recordBankPaymentId(paymentId, done.bankPaymentId);
      }
      await deps.payments.updateAuthorisationStatus(paymentId, authorisationId, done.scaStatus);
      // A payment's tokens serve this one submission only.
      await deps.grants.discard('payment', paymentId);
      const status = 'status' in done ? done.status : undefined;
      return {
        outcome: 'completed',
        scaStatus: done.scaStatus.normalised,
        rawScaStatus: done.scaStatus.raw,
        ...(status ? { transactionStatus: status.normalised, rawTransactionStatus: status.raw } : {}),
      };
    },

    async completeOAuthConsentAuthorisationAtBank(consentId: string, handoffId: string): Promise<OAuthCompletionSummary> {
      const consent = await deps.consents.findById(consentId);
      if (!consent?.bankConsentId) throw failure(FailureType.ConsentNotFound, `Consent ${consentId} was never created at the bank`);
      const [authorisation] = (await deps.consents.listAuthorisations(consent.tenantId, consentId)).slice(-1);
      const redeemed = await redeem(
        'consent',
        consentId,
        consent.tenantId,
        handoffId,
        (adapter, conn, response) => {
          if (!adapter.exchangeAuthorisationCode) throw failure(FailureType.BankRejected, `${adapter.protocol} has no OAuth authorisation`);
          return adapter.exchangeAuthorisationCode(
            conn,
            {
              kind: 'consent',
              bankResourceId: consent.bankConsentId!,
              authorisationId: authorisation?.authorisationId,
              redirect: redirectFor('consents', consentId),
              requestId: logicalCallRequestId(consentId, 'oauth-token'),
            },
            response,
          );
        },
        consent.bicFi,
      );
      if (!redeemed) return { outcome: 'none' };
      const record = async (sca: { raw: string; normalised: ScaStatus }) => {
        if (authorisation) {
          await deps.consents.upsertAuthorisation({
            consentId,
            authorisationId: authorisation.authorisationId,
            scaApproach: authorisation.scaApproach,
            scaRedirectUrl: authorisation.scaRedirectUrl,
            scaStatus: sca,
          });
        }
      };
      if ('refused' in redeemed) {
        await record({ raw: redeemed.refused, normalised: 'failed' });
        return { outcome: 'completed', scaStatus: 'failed', rawScaStatus: redeemed.refused };
      }
      const { adapter, conn } = await bank(consent.bicFi);
      const ref = { bankConsentId: consent.bankConsentId, requestId: logicalCallRequestId(consentId, 'oauth-complete'), authorisationId: authorisation?.authorisationId, grant: redeemed.grant };
      const done = adapter.completeConsentAuthorisation
        ? await adapter.completeConsentAuthorisation(conn, ref, redeemed.grant).catch(toActivityFailure)
        : { scaStatus: { raw: 'finalised', normalised: 'finalised' as const } };
      await record(done.scaStatus);
      const status = 'status' in done ? done.status : undefined;
      return {
        outcome: 'completed',
        scaStatus: done.scaStatus.normalised,
        rawScaStatus: done.scaStatus.raw,
        ...(status ? { consentStatus: status.normalised, rawConsentStatus: status.raw } : {}),
      };
    },
  };
}

export type OAuthAuthorisationActivities = ReturnType<typeof createOAuthAuthorisationActivities>;
