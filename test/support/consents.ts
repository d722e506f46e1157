import { randomUUID } from 'node:crypto';
import { consentWorkflowId } from '../../workflows/consent.api';
import { BIC } from './payments';
import { eventually, type TestStack } from './stack';

export const CONSENTS = '/psd2/consent/v1/consents';
export const AIS = '/psd2/accountinformation/v1/accounts';

export function inDays(days: number): string {
  return new Date(Date.now() + days * 24 * 3600_000).toISOString().slice(0, 10);
}

/** A valid consent request; override what the test is about. */
export function consentBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    access: { allPsd2: 'allAccounts' },
    recurringIndicator: true,
    validUntil: inDays(90),
    frequencyPerDay: 4,
    combinedServiceIndicator: false,
    ...overrides,
  };
}

export function createConsent(
  stack: TestStack,
  opts: { token: string; psuId?: string; body?: unknown; requestId?: string; redirectUri?: string; nokRedirectUri?: string; headers?: Record<string, string> },
) {
  return stack.call('POST', CONSENTS, {
    token: opts.token,
    headers: {
      'X-BicFi': BIC,
      'X-Request-ID': opts.requestId ?? randomUUID(),
      'PSU-IP-Address': '192.0.2.20',
      ...(opts.psuId ? { 'PSU-ID': opts.psuId } : {}),
      ...(opts.redirectUri ? { 'TPP-Redirect-URI': opts.redirectUri } : {}),
      ...(opts.nokRedirectUri ? { 'TPP-Nok-Redirect-URI': opts.nokRedirectUri } : {}),
      ...opts.headers,
    },
    body: opts.body ?? consentBody(),
  });
}

export async function consentStatus(stack: TestStack, token: string, consentId: string): Promise<string> {
  const res = await stack.call('GET', `${CONSENTS}/${consentId}/status`, { token, headers: { 'X-BicFi': BIC } });
  return res.body.consentStatus;
}

export function waitForConsentStatus(stack: TestStack, token: string, consentId: string, status: string, timeoutMs = 20_000) {
  return eventually(async () => (await consentStatus(stack, token, consentId)) === status, timeoutMs, 100);
}

/** An AIS read with Consent-ID; `psuPresent` adds PSU-IP-Address. */
export function aisGet(stack: TestStack, token: string, consentId: string, path: string, opts: { psuPresent?: boolean; headers?: Record<string, string> } = {}) {
  return stack.call('GET', `${AIS}${path}`, {
    token,
    headers: { 'X-BicFi': BIC, 'Consent-ID': consentId, ...(opts.psuPresent ? { 'PSU-IP-Address': '192.0.2.30' } : {}), ...opts.headers },
  });
}

export function consentHandle(stack: TestStack, consentId: string) {
  return stack.temporal.workflow.getHandle(consentWorkflowId(consentId));
}
