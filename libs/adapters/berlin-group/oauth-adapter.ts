/**
 * The Berlin Group adapter's OAuth SCA approach, kept beside `index.ts`: turning the bank's
 * `scaOAuth` metadata link into the PSU's authorization URL, redeeming the code, reading back what
 * the bank made of the authorisation, refreshing tokens. Protocol-neutral results only.
 */
import { BankError, type AuthorisationRef, type BankConnection, type ConsentRef } from '../bank-adapter';
import type { BankGrant, OAuthAuthorisationResponse, OAuthConsentCompletion, OAuthExchangeRef, OAuthPaymentCompletion, OAuthRedirect } from '../oauth-sca';
import type { ScaApproach } from '../../domain/transaction-status';
import { mapConsentStatus, parseConsentStatusResponse } from './ais-transformers';
import { consentsPath, paymentsPath, type BerlinGroupClient, type BerlinGroupClientOptions } from './client';
import { BerlinGroupOAuth } from './oauth-sca';
import { mapScaStatus, mapTransactionStatus, parsePaymentStatusResponse, parseScaStatusResponse } from './transformers';

export class BerlinGroupOAuthSca {
  private readonly oauth: BerlinGroupOAuth;

  constructor(
    private readonly client: BerlinGroupClient,
    opts: BerlinGroupClientOptions,
  ) {
    this.oauth = new BerlinGroupOAuth({
      fetchFor: (conn) => client.fetchFor(conn),
      clientIdFor: (conn) => conn.tppId ?? opts.tls?.clientIdFor(conn),
      pkce: opts.pkce,
    });
  }

  /**
   * For an OAuth answer (`scaOAuth`: the metadata URL), the authorization URL the PSU follows.
   * The bank has created the payment or consent by now, so nothing here may fail the creation
   * (a failure would read as "maybe created" and start the duplicate-avoidance machinery): when
   * the URL cannot be built, the result goes back without a link (the PSU cannot be sent anywhere
   * useful with the metadata URL) and the SCA wait runs to its timeout.
   */
  async withAuthorizationUrl<T extends { scaApproach: ScaApproach; scaRedirectUrl?: string }>(
    conn: BankConnection,
    kind: 'payment' | 'consent',
    bankResourceId: string,
    redirect: OAuthRedirect | undefined,
    result: T,
  ): Promise<T> {
    if (result.scaApproach !== 'OAUTH' || !result.scaRedirectUrl) return result;
    const { scaRedirectUrl: metadataUrl, ...rest } = result;
    if (!redirect) return rest as T;
    try {
      return { ...rest, scaRedirectUrl: await this.oauth.authorizationUrl(conn, metadataUrl, kind, bankResourceId, redirect) } as T;
    } catch {
      return rest as T;
    }
  }

  exchangeAuthorisationCode(conn: BankConnection, ref: OAuthExchangeRef, response: OAuthAuthorisationResponse): Promise<BankGrant> {
    return this.oauth.exchange(conn, ref, response);
  }

  /** After the code exchange: what the bank now says about the payment's SCA and status. */
  async completePaymentAuthorisation(conn: BankConnection, ref: AuthorisationRef, _grant: BankGrant): Promise<OAuthPaymentCompletion> {
    const sca = await this.client.send(conn, {
      method: 'GET',
      path: paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'authorisations', ref.authorisationId),
      requestId: ref.requestId,
      psu: ref.psu,
    });
    const status = await this.client.send(conn, { method: 'GET', path: paymentsPath(ref.paymentProduct, ref.bankPaymentId, 'status'), requestId: ref.requestId, psu: ref.psu });
    return {
      scaStatus: mapScaStatus(parseScaStatusResponse(sca.body).scaStatus),
      status: mapTransactionStatus(parsePaymentStatusResponse(status.body).transactionStatus),
    };
  }

  async completeConsentAuthorisation(conn: BankConnection, ref: ConsentRef & { authorisationId?: string }, _grant: BankGrant): Promise<OAuthConsentCompletion> {
    const status = mapConsentStatus(
      parseConsentStatusResponse((await this.client.send(conn, { method: 'GET', path: consentsPath(ref.bankConsentId, 'status'), requestId: ref.requestId, psu: ref.psu })).body)
        .consentStatus,
    );
    if (ref.authorisationId) {
      const sca = await this.client.send(conn, {
        method: 'GET',
        path: consentsPath(ref.bankConsentId, 'authorisations', ref.authorisationId),
        requestId: ref.requestId,
        psu: ref.psu,
      });
      return { scaStatus: mapScaStatus(parseScaStatusResponse(sca.body).scaStatus), status };
    }
    // Without an authorisation id the consent's own status tells: valid means SCA was finalised.
    const finalised = status.normalised === 'valid';
    return { scaStatus: { raw: status.raw, normalised: finalised ? 'finalised' : 'failed' }, status };
  }

  refreshGrant(conn: BankConnection, grant: BankGrant): Promise<BankGrant> {
    if (!grant.refreshToken) return Promise.reject(new BankError('rejected', 'this grant has no refresh token'));
    return this.oauth.refresh(conn, grant);
  }
}
