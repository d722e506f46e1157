import { Inject, Injectable } from '@nestjs/common';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { OAuthAuthorisationResponse } from '../../../libs/adapters/oauth-sca';
import type { Logger } from '../../../libs/observability/logger';
import { TENANT_CONSENTS, type TenantConsentRepository } from '../../../libs/persistence/consent.repository';
import { TENANT_PAYMENTS, type TenantPaymentRepository } from '../../../libs/persistence/payment.repository';
import { verifyOAuthState } from '../../../libs/security/callback-state';
import { OAUTH_RESPONSE_PURPOSE } from '../../../libs/security/handoff-purposes';
import { HmacSigner } from '../../../libs/security/hmac-signer';
import { SensitiveHandoffs } from '../../../libs/security/sensitive-handoffs';
import { consentWorkflowId } from '../../../workflows/consent.api';
import { paymentWorkflowId } from '../../../workflows/payment-initiation.api';
import { completeOAuthAuthorisationSignal } from '../../../workflows/shared/oauth-authorisation';
import { ApiError } from '../common/api-error';
import { LOGGER, TEMPORAL_CLIENT } from '../temporal/temporal.tokens';

/** The bank's answer has to survive a busy worker; the code itself expires at the bank within minutes. */
const OAUTH_HANDOFF_TTL_MS = 10 * 60_000;
/** Longest value we keep of any parameter: codes and ID tokens are far shorter. */
const MAX_PARAM = 8192;

/**
 * The PSU is back from an OAuth/OIDC authorisation at any bank. Protocol-neutral: `state` says
 * which payment or consent; what the bank sent is sealed for the worker, which redeems it; the
 * workflow only learns the hand-off's id. Then the PSU goes on to the client's redirect URI.
 */
@Injectable()
export class OAuthCallbackService {
  constructor(
    @Inject(TENANT_PAYMENTS) private readonly payments: TenantPaymentRepository,
    @Inject(TENANT_CONSENTS) private readonly consents: TenantConsentRepository,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(SensitiveHandoffs) private readonly handoffs: SensitiveHandoffs,
    @Inject(HmacSigner) private readonly signer: HmacSigner,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Returns where to send the PSU next (the client's ok or nok URI), or undefined for our own page. */
  async handle(params: Record<string, unknown>): Promise<string | undefined> {
    const response = readResponse(params);
    const target = verifyOAuthState(this.signer, response.state);
    if (!target) throw ApiError.notFound('Authorisation');
    const resource =
      target.resource === 'payments' ? await this.payments.findBySignedCallback(target.id) : await this.consents.findBySignedCallback(target.id);
    if (!resource) throw ApiError.notFound('Authorisation');
    const handoffId = await this.handoffs.seal(resource.tenantId, OAUTH_RESPONSE_PURPOSE, JSON.stringify(response), OAUTH_HANDOFF_TTL_MS);
    const workflowId = target.resource === 'payments' ? paymentWorkflowId(target.id) : consentWorkflowId(target.id);
    try {
      await this.temporal.workflow.getHandle(workflowId).signal(completeOAuthAuthorisationSignal, { handoffId });
    } catch (err) {
      // A finished workflow has nothing to complete; the PSU must still get back to the client.
      await this.handoffs.discard(handoffId);
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    this.logger.info({ [target.resource === 'payments' ? 'paymentId' : 'consentId']: target.id, error: response.error }, 'PSU back from OAuth authorisation');
    const ok = !response.error;
    return ok ? (resource.clientRedirectUri ?? undefined) : (resource.clientNokRedirectUri ?? resource.clientRedirectUri ?? undefined);
  }
}

/** The OAuth response parameters (RFC 6749 §4.1.2, OIDC hybrid flow, RFC 9207), nothing else. */
function readResponse(params: Record<string, unknown>): OAuthAuthorisationResponse {
  const text = (name: string): string | undefined => {
    const v = params[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_PARAM) throw ApiError.format(name, 'must be one non-empty value');
    return v;
  };
  const state = text('state');
  if (!state) throw ApiError.format('state', 'is required');
  const code = text('code');
  const error = text('error');
  if (!code && !error) throw ApiError.format('code', 'either code or error is required');
  return {
    state,
    ...(code ? { code } : {}),
    ...(text('id_token') ? { idToken: text('id_token') } : {}),
    ...(text('iss') ? { iss: text('iss') } : {}),
    ...(error ? { error } : {}),
    ...(text('error_description') ? { errorDescription: text('error_description') } : {}),
  };
}
