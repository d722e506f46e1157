import { readFileSync } from 'node:fs';

/** Clearway as a UK Open Banking TPP, and where the UK sandbox bank runs. */
export interface UkObieConfig {
  sandboxPort: number;
  /** Base URL of the UK sandbox bank (issuer and resource server), used for sandbox UK ASPSPs. */
  sandboxUrl: string;
  /** Where people reach it (SANDBOX_UK_PUBLIC_URL, else sandboxUrl): the sandbox ASPSP's `websiteUrl`. */
  sandboxPublicUrl: string;
  /** Our organisation and software at the Open Banking Directory. */
  orgId: string;
  softwareId: string;
  /** PEM (PKCS#8) of the PS256 signing key; none: a development key is generated in-process. */
  signingKeyPem?: string;
  kid: string;
  /** The directory-issued software statement; none: sandbox banks issue one. */
  softwareStatement?: string;
  trustAnchor: string;
  /** ASPSP org ids per BIC (the `aud` of registration requests, the `iss` of their signatures). */
  aspspOrgIds: Record<string, string>;
}

const fromEnvOrFile = (env: NodeJS.ProcessEnv, name: string, base64 = false): string | undefined => {
  if (env[name]) return base64 ? Buffer.from(env[name]!, 'base64').toString('utf8') : env[name];
  const file = env[`${name}_FILE`];
  return file ? readFileSync(file, 'utf8').trim() : undefined;
};

export function loadUkObieConfig(env: NodeJS.ProcessEnv, sandboxHost: string): UkObieConfig {
  const port = Number(env.SANDBOX_UK_PORT ?? 3003);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`SANDBOX_UK_PORT must be a TCP port, got "${env.SANDBOX_UK_PORT}"`);
  const orgIds: Record<string, string> = { SANDGB2LXXX: '0015800001SandUK1' };
  for (const pair of (env.UK_OBIE_ASPSP_ORG_IDS ?? '').split(',').filter(Boolean)) {
    const [bic, org] = pair.split('=');
    if (!bic || !org) throw new Error(`UK_OBIE_ASPSP_ORG_IDS must be BIC=orgId pairs, got "${pair}"`);
    orgIds[bic.trim()] = org.trim();
  }
  return {
    sandboxPort: port,
    sandboxUrl: (env.SANDBOX_UK_URL ?? `http://${sandboxHost}:${port}`).replace(/\/$/, ''),
    sandboxPublicUrl: (env.SANDBOX_UK_PUBLIC_URL || env.SANDBOX_UK_URL || `http://${sandboxHost}:${port}`).replace(/\/$/, ''),
    // Directory ids are base62 (DCR 3.3: software id ≤ 22 characters, org id ≤ 18).
    orgId: env.UK_OBIE_ORG_ID ?? '0015800001ClwyDev',
    softwareId: env.UK_OBIE_SOFTWARE_ID ?? 'ClearwayDevSoftware',
    signingKeyPem: fromEnvOrFile(env, 'UK_OBIE_SIGNING_KEY', true),
    kid: env.UK_OBIE_SIGNING_KID ?? 'clearway-uk-signing-1',
    softwareStatement: fromEnvOrFile(env, 'UK_OBIE_SOFTWARE_STATEMENT'),
    trustAnchor: env.UK_OBIE_TRUST_ANCHOR ?? 'openbanking.org.uk',
    aspspOrgIds: orgIds,
  };
}
