/**
 * One typed configuration object, built from the environment once. Every value has a dev default
 * except secrets, which fail fast in production (NODE_ENV=production).
 */
export interface ClearwayConfig {
  env: 'development' | 'test' | 'production';
  /** Postgres URL. Unset in dev means the launcher serves an embedded PGlite and fills this in. */
  databaseUrl?: string;
  databasePoolSize: number;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /**
     * Workflows a worker keeps in memory between tasks. Idle consents need no slot (their next
     * event is a day away), so a small cache bounds memory; the SDK's default grows with the host's RAM.
     */
    maxCachedWorkflows: number;
  };
  api: {
    host: string;
    port: number;
    /** Where browsers reach the API: used in SCA callback URLs given to banks. */
    publicBaseUrl: string;
    /** HMAC key for access tokens and SCA callback state. */
    tokenSecret: string;
    tokenTtlSeconds: number;
    bodyLimit: string;
    /** How long POST /payments and /consents wait for the bank's answer before a 503 "repeat the request". */
    bankAnswerWaitMs: number;
  };
  sandbox: {
    host: string;
    bgPort: number;
    /** Base URL of the Berlin Group sandbox bank, used for ASPSPs flagged as sandbox. */
    bgUrl: string;
  };
  openPayments: {
    /** Clearway's own Open Payments client identity (its wallet address serves the public key). */
    walletAddress?: string;
    keyId?: string;
    /** PEM of the ed25519 private key (OPEN_PAYMENTS_PRIVATE_KEY holds it base64-encoded). */
    privateKeyPem?: string;
    /** Plain-http wallet addresses: development and tests only. */
    allowHttp: boolean;
    timings: { grantWindowMs: number; sendPollInitialMs: number; sendPollMaxMs: number; sendDeadlineMs: number };
  };
  consents: {
    /** How often a valid consent is checked at the bank for revocation by the PSU. */
    statusCheckIntervalSeconds: number;
    /** Continue-as-new after this many history events (Temporal may suggest it earlier). */
    maxHistoryEvents: number;
  };
  /** Requests to URLs clients give us (webhooks, TPP-Notification-URI): see libs/security/outbound-url.ts. */
  outbound: { allowHttp: boolean; allowLoopback: boolean };
  webhooks: {
    /** How often the sweep Schedule wakes dispatchers with due deliveries (a safety net); 0 creates no Schedule. */
    sweepIntervalSeconds: number;
    /** Test override of the retry schedule (comma-separated milliseconds); unset: the workflow's 5 s … 10 h. */
    retryDelaysMs?: number[];
  };
  payments: {
    /** Default SCA timeout when the ASPSP row has none. */
    scaTimeoutSeconds: number;
    /** How long to keep polling the bank for a final status after SCA. */
    statusDeadlineSeconds: number;
    pollInitialIntervalMs: number;
    pollMaxIntervalMs: number;
  };
}

const DEV_TOKEN_SECRET = 'clearway-dev-only-token-secret-change-me';

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

/** 'true' or 'false'; unset means the mode's default. */
function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'true' && raw !== 'false') throw new Error(`${name} must be "true" or "false", got "${raw}"`);
  return raw === 'true';
}

function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must hold positive integers, got "${raw}"`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ClearwayConfig {
  const mode = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const apiHost = env.API_HOST ?? '127.0.0.1';
  const apiPort = int(env, 'API_PORT', 3000);
  const sandboxHost = env.SANDBOX_HOST ?? '127.0.0.1';
  const bgPort = int(env, 'SANDBOX_BG_PORT', 3001);
  const tokenSecret = env.CLEARWAY_TOKEN_SECRET ?? (mode === 'production' ? undefined : DEV_TOKEN_SECRET);
  if (!tokenSecret) throw new Error('CLEARWAY_TOKEN_SECRET must be set in production');
  if (mode === 'production' && tokenSecret.length < 32) throw new Error('CLEARWAY_TOKEN_SECRET must be at least 32 characters');
  return {
    env: mode,
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 5),
    temporal: {
      address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      namespace: env.TEMPORAL_NAMESPACE ?? 'default',
      taskQueue: env.TEMPORAL_TASK_QUEUE ?? 'clearway-payments',
      maxCachedWorkflows: int(env, 'WORKER_MAX_CACHED_WORKFLOWS', 100),
    },
    api: {
      host: apiHost,
      port: apiPort,
      publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://${apiHost}:${apiPort}`).replace(/\/$/, ''),
      tokenSecret,
      tokenTtlSeconds: int(env, 'TOKEN_TTL_SECONDS', 3600),
      bodyLimit: env.API_BODY_LIMIT ?? '100kb',
      bankAnswerWaitMs: int(env, 'API_BANK_ANSWER_WAIT_MS', 25_000),
    },
    sandbox: {
      host: sandboxHost,
      bgPort,
      bgUrl: (env.SANDBOX_BG_URL ?? `http://${sandboxHost}:${bgPort}/berlin-group`).replace(/\/$/, ''),
    },
    openPayments: {
      walletAddress: env.OPEN_PAYMENTS_WALLET_ADDRESS || undefined,
      keyId: env.OPEN_PAYMENTS_KEY_ID || undefined,
      privateKeyPem: env.OPEN_PAYMENTS_PRIVATE_KEY ? Buffer.from(env.OPEN_PAYMENTS_PRIVATE_KEY, 'base64').toString('utf8') : undefined,
      allowHttp: mode !== 'production' || env.OPEN_PAYMENTS_ALLOW_HTTP === 'true',
      timings: {
        grantWindowMs: int(env, 'OPEN_PAYMENTS_GRANT_WINDOW_SECONDS', 15 * 60) * 1000,
        sendPollInitialMs: int(env, 'OPEN_PAYMENTS_SEND_POLL_INITIAL_MS', 500),
        sendPollMaxMs: int(env, 'OPEN_PAYMENTS_SEND_POLL_MAX_MS', 30_000),
        sendDeadlineMs: int(env, 'OPEN_PAYMENTS_SEND_DEADLINE_SECONDS', 3600) * 1000,
      },
    },
    consents: {
      statusCheckIntervalSeconds: int(env, 'CONSENT_STATUS_CHECK_SECONDS', 24 * 3600),
      maxHistoryEvents: int(env, 'CONSENT_MAX_HISTORY_EVENTS', 1000),
    },
    outbound: {
      allowHttp: flag(env, 'OUTBOUND_ALLOW_HTTP', mode !== 'production'),
      allowLoopback: flag(env, 'OUTBOUND_ALLOW_LOOPBACK', mode !== 'production'),
    },
    webhooks: {
      sweepIntervalSeconds: int(env, 'WEBHOOK_SWEEP_SECONDS', 60),
      retryDelaysMs: env.WEBHOOK_RETRY_DELAYS_MS ? env.WEBHOOK_RETRY_DELAYS_MS.split(',').map((raw) => positiveInt('WEBHOOK_RETRY_DELAYS_MS', raw.trim())) : undefined,
    },
    payments: {
      scaTimeoutSeconds: int(env, 'SCA_TIMEOUT_SECONDS', 900),
      statusDeadlineSeconds: int(env, 'PAYMENT_STATUS_DEADLINE_SECONDS', 24 * 3600),
      pollInitialIntervalMs: int(env, 'PAYMENT_POLL_INITIAL_MS', 1000),
      pollMaxIntervalMs: int(env, 'PAYMENT_POLL_MAX_MS', 5 * 60_000),
    },
  };
}
