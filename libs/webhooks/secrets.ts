import type { SecretBox } from '../security/secret-box';

/** Endpoint signing secrets are sealed at rest, bound to their endpoint: a sealed secret does not open for another. */
function purpose(endpointId: string): string {
  return `webhook-secret:${endpointId}`;
}

export function sealEndpointSecret(box: SecretBox, endpointId: string, secret: string): string {
  return box.seal(secret, purpose(endpointId));
}

/** The secrets that sign now: the current one, and the previous one until its rotation window ends. */
export function signingSecrets(
  box: SecretBox,
  endpoint: { id: string; secretSealed: string; previousSecretSealed: string | null; previousSecretExpiresAt: Date | null },
  now: Date,
): string[] {
  const secrets = [box.open(endpoint.secretSealed, purpose(endpoint.id))];
  if (endpoint.previousSecretSealed && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(box.open(endpoint.previousSecretSealed, purpose(endpoint.id)));
  }
  return secrets;
}
