import { readFileSync } from 'node:fs';

/**
 * How API and worker connect to Temporal, from the environment (docs/deployment.md, "Temporal
 * connection"). Plain gRPC by default (the dev server, the compose cluster on its private network);
 * for a cluster behind TLS, mTLS, or Temporal Cloud:
 * - `TEMPORAL_TLS=true`: TLS with the system's CAs;
 * - `TEMPORAL_TLS_CA_FILE`: a PEM CA bundle to trust instead (implies TLS);
 * - `TEMPORAL_TLS_CERT_FILE` + `TEMPORAL_TLS_KEY_FILE`: a client certificate (mTLS; implies TLS);
 * - `TEMPORAL_TLS_SERVER_NAME`: the name to verify when it differs from the address's host;
 * - `TEMPORAL_API_KEY`: an API key sent as a bearer token (Temporal Cloud API keys; implies TLS).
 * The same options fit `Connection.connect` (client) and `NativeConnection.connect` (worker).
 */
export interface TemporalConnectionOptions {
  address: string;
  tls?: {
    serverNameOverride?: string;
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
  };
  apiKey?: string;
}

export function temporalConnectionOptions(address: string, env: NodeJS.ProcessEnv = process.env): TemporalConnectionOptions {
  const certFile = env.TEMPORAL_TLS_CERT_FILE;
  const keyFile = env.TEMPORAL_TLS_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE go together (mTLS client certificate and its key)');
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const explicit = (env.TEMPORAL_TLS ?? '').trim().toLowerCase();
  const tlsOn = explicit === 'true' || (explicit !== 'false' && Boolean(env.TEMPORAL_TLS_CA_FILE || certFile || apiKey));
  if (explicit === 'false' && (certFile || apiKey)) throw new Error('TEMPORAL_TLS=false cannot be combined with a client certificate or an API key');
  if (!tlsOn) return { address };
  return {
    address,
    tls: {
      ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: env.TEMPORAL_TLS_SERVER_NAME } : {}),
      ...(env.TEMPORAL_TLS_CA_FILE ? { serverRootCACertificate: readFileSync(env.TEMPORAL_TLS_CA_FILE) } : {}),
      ...(certFile && keyFile ? { clientCertPair: { crt: readFileSync(certFile), key: readFileSync(keyFile) } } : {}),
    },
    ...(apiKey ? { apiKey } : {}),
  };
}
