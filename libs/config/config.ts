import { readFileSync } from 'node:fs';
import { defaultLongLivedTaskQueue } from '../temporal/task-queues';
import { loadUkObieConfig, type UkObieConfig } from './uk-obie.config';
import { KeyRing, parseKeyList, type KeyPurpose } from '../security/key-ring';
import { QWAC_REF, type BankTlsMaterial, type ClientCertificate } from '../adapters/bank-tls';

/**
 * One typed configuration object, built from the environment once. Every value has a dev default
 * except keys, which have one only when NODE_ENV is explicitly `development` or `test`.
 */
export interface ClearwayConfig {
  env: 'development' | 'test' | 'production';
  /** Postgres URL. Unset in dev means the launcher serves an embedded PGlite and fills this in. */
  databaseUrl?: string;
  databasePoolSize: number;
  temporal: {
    address: string;
    namespace: string;
    /** The short-lived queue: payments, bulks, batches, transfers, webhooks (libs/temporal/task-queues.ts). */
    taskQueue: string;
    /** The long-lived queue: consents, standing orders, mandates. */
    longLivedTaskQueue: string;
    /**
     * Workflows the short-lived queue's worker keeps in memory between tasks: enough for every
     * payment in flight, or evicted ones replay their whole history at each task.
     */
    maxCachedWorkflows: number;
    /**
     * The long-lived queue's cache. Idle consents need no slot (their next event is a day away), so a
     * small cache bounds memory; the SDK's default grows with the host's RAM.
     */
    longLivedMaxCachedWorkflows: number;
  };
  api: {
    host: string;
    port: number;
    /** Where browsers reach the API: used in SCA callback URLs given to banks. */
    publicBaseUrl: string;
    tokenTtlSeconds: number;
    bodyLimit: string;
    /** How long POST /payments and /consents wait for the bank's answer before a 503 "repeat the request". */
    bankAnswerWaitMs: number;
    /** express `trust proxy` (API_TRUST_PROXY, e.g. `loopback` or a hop count): which X-Forwarded-For to believe for client addresses. */
    trustProxy?: string;
  };
  /** Sliding-window request limits (per API process), answered with 429 and Retry-After. */
  rateLimits: {
    /** Every endpoint, per authenticated client (per remote address without a valid token). */
    perClient: RateLimit;
    /** `POST /connect/token` (an scrypt run each), per remote address and per claimed client id. */
    tokenPerAddress: RateLimit;
    tokenPerClient: RateLimit;
  };
  sandbox: {
    host: string;
    bgPort: number;
    /** Base URL of the Berlin Group sandbox bank, used for ASPSPs flagged as sandbox. */
    bgUrl: string;
    /** Where people reach it (SANDBOX_BG_PUBLIC_URL, else bgUrl): the sandbox ASPSP's `websiteUrl`. */
    bgPublicUrl: string;
    /** The Paysera-profile Berlin Group sandbox (SANDLT21XXX, https + mTLS): its port and API base URL. */
    payseraPort: number;
    payseraUrl: string;
    /** Where people reach it (SANDBOX_PAYSERA_PUBLIC_URL, its origin, plus `/psd2`; else payseraUrl): its `websiteUrl`. */
    payseraPublicUrl: string;
  };
  /** UK Open Banking: Clearway's TPP identity and the UK sandbox bank (libs/config/uk-obie.config.ts). */
  ukObie: UkObieConfig;
  openPayments: {
    /** Clearway's own Open Payments client identity (its wallet address serves the public key). */
    walletAddress?: string;
    keyId?: string;
    /** PEM of the ed25519 private key (OPEN_PAYMENTS_PRIVATE_KEY holds it base64-encoded). */
    privateKeyPem?: string;
    /** Plain-http wallet addresses: development and tests only. */
    allowHttp: boolean;
    timings: {
      grantWindowMs: number;
      sendPollInitialMs: number;
      sendPollMaxMs: number;
      sendDeadlineMs: number;
      /** An unknown outcome is looked up with this backoff, for this long; then an operator decides. */
      lookupInitialMs: number;
      lookupMaxMs: number;
      lookupDeadlineMs: number;
    };
    /** After a quote's expiry, how long a payment still missing at the wallet may yet land (its clock, requests in flight). */
    quoteExpiryMarginMs: number;
    /** PEM of a CA Clearway trusts for wallets besides the system's (the dev stack's CA for the sandbox ASE). */
    extraCaPem?: string;
  };
  /** One key ring per purpose (see libs/security/key-ring.ts); the first key of each signs or encrypts. */
  keys: {
    /** Signs access tokens (JWT HS256). */
    accessTokens: KeyRing;
    /** Signs SCA callback URLs, GNAP finish URLs and AIS paging links. */
    hmac: KeyRing;
    /** Seals what Clearway keeps at rest: sensitive hand-offs, Open Payments tokens. */
    encryption: KeyRing;
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
  /** TLS towards banks: client certificates by reference (mTLS per ASPSP) and extra trusted CAs. */
  bankTls: BankTlsMaterial;
  payments: {
    /** Default SCA timeout when the ASPSP row has none. */
    scaTimeoutSeconds: number;
    /** How long to keep polling the bank for a final status after SCA. */
    statusDeadlineSeconds: number;
    pollInitialIntervalMs: number;
    pollMaxIntervalMs: number;
  };
  /** Standing orders (periodic payments). */
  periodic: {
    /** How often a live order is looked at (status, and bookings through its consent). */
    observeEveryMs: number;
    /** TARGET2 days after an execution date within which its booking must appear. */
    graceBusinessDays: number;
    /** Executions per workflow run before continue-as-new. */
    executionsPerRun: number;
  };
  /** Batch fan-out (see workflows/batch.api.ts BatchFanOutSettings). */
  batches: { concurrency: number; pageSize: number; childrenPerRun: number; progressIntervalMs: number };
}

export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** The secret every dev and test setup shares. Refused unless NODE_ENV is explicitly development or test. */
const DEV_TOKEN_SECRET = 'clearway-dev-only-token-secret-change-me';

const KEY_VARIABLES: Record<keyof ClearwayConfig['keys'], { env: string; purpose: KeyPurpose }> = {
  accessTokens: { env: 'CLEARWAY_ACCESS_TOKEN_KEYS', purpose: 'access-tokens' },
  hmac: { env: 'CLEARWAY_HMAC_KEYS', purpose: 'hmac' },
  encryption: { env: 'CLEARWAY_ENCRYPTION_KEYS', purpose: 'encryption' },
};

/**
 * The three key rings. Each comes from its own variable (`id:secret,...`, newest first). Without
 * one, development and tests get a fixed dev key; anything else refuses to start. The legacy
 * CLEARWAY_TOKEN_SECRET (the one secret of earlier releases) still verifies callback links and
 * opens data sealed before keys had ids; it never signs or seals anything new.
 */
function loadKeys(env: NodeJS.ProcessEnv): ClearwayConfig['keys'] {
  const devKeysAllowed = env.NODE_ENV === 'development' || env.NODE_ENV === 'test';
  const legacySecret = env.CLEARWAY_TOKEN_SECRET || (devKeysAllowed ? DEV_TOKEN_SECRET : undefined);
  const refuseDevSecret = (name: string, secret: string) => {
    if (!devKeysAllowed && secret.includes(DEV_TOKEN_SECRET)) {
      throw new Error(`${name} holds the development secret; it is refused unless NODE_ENV is development or test`);
    }
  };
  if (legacySecret) refuseDevSecret('CLEARWAY_TOKEN_SECRET', legacySecret);
  const ring = ({ env: name, purpose }: { env: string; purpose: KeyPurpose }): KeyRing => {
    const raw = env[name];
    if (!raw) {
      if (!devKeysAllowed) {
        throw new Error(`${name} must be set: comma-separated id:secret pairs, newest first (NODE_ENV=development or test uses built-in dev keys)`);
      }
      return new KeyRing(purpose, [{ id: 'dev', secret: `${DEV_TOKEN_SECRET}/${purpose}` }], purpose === 'access-tokens' ? undefined : legacySecret);
    }
    const keys = parseKeyList(name, raw);
    for (const key of keys) refuseDevSecret(name, key.secret);
    // Access tokens live an hour at most: none made before keys had ids needs to verify.
    return new KeyRing(purpose, keys, purpose === 'access-tokens' ? undefined : legacySecret);
  };
  return {
    accessTokens: ring(KEY_VARIABLES.accessTokens),
    hmac: ring(KEY_VARIABLES.hmac),
    encryption: ring(KEY_VARIABLES.encryption),
  };
}

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

/**
 * Clearway's QWAC (QWAC_CERT_FILE + QWAC_KEY_FILE, reference `qwac`), further client certificates
 * as `ref=cert.pem:key.pem` pairs separated by commas (BANK_CLIENT_CERTIFICATES), and
 * BANK_EXTRA_CA_FILE. The dev launcher points them at the files it generates under `.data/dev-ca/`.
 */
function loadBankTls(env: NodeJS.ProcessEnv): BankTlsMaterial {
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  };
  const clientCertificates: Record<string, ClientCertificate> = {};
  if (Boolean(env.QWAC_CERT_FILE) !== Boolean(env.QWAC_KEY_FILE)) throw new Error('QWAC_CERT_FILE and QWAC_KEY_FILE go together');
  if (env.QWAC_CERT_FILE && env.QWAC_KEY_FILE) {
    clientCertificates[QWAC_REF] = { certPem: read('QWAC_CERT_FILE', env.QWAC_CERT_FILE), keyPem: read('QWAC_KEY_FILE', env.QWAC_KEY_FILE) };
  }
  for (const entry of (env.BANK_CLIENT_CERTIFICATES ?? '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_.-]+)=([^:]+):(.+)$/.exec(entry);
    if (!match) throw new Error(`BANK_CLIENT_CERTIFICATES entries are ref=cert.pem:key.pem, got "${entry}"`);
    clientCertificates[match[1]!] = { certPem: read('BANK_CLIENT_CERTIFICATES', match[2]!), keyPem: read('BANK_CLIENT_CERTIFICATES', match[3]!) };
  }
  return {
    clientCertificates,
    ...(env.BANK_EXTRA_CA_FILE ? { extraCaPem: read('BANK_EXTRA_CA_FILE', env.BANK_EXTRA_CA_FILE) } : {}),
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ClearwayConfig {
  const mode = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const apiHost = env.API_HOST ?? '127.0.0.1';
  const apiPort = int(env, 'API_PORT', 3000);
  const sandboxHost = env.SANDBOX_HOST ?? '127.0.0.1';
  const bgPort = int(env, 'SANDBOX_BG_PORT', 3001);
  const taskQueue = env.TEMPORAL_TASK_QUEUE ?? 'clearway-payments';
  return {
    env: mode,
    databaseUrl: env.DATABASE_URL || undefined,
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 5),
    temporal: {
      address: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
      namespace: env.TEMPORAL_NAMESPACE ?? 'default',
      taskQueue,
      longLivedTaskQueue: env.TEMPORAL_LONG_LIVED_TASK_QUEUE || defaultLongLivedTaskQueue(taskQueue),
      maxCachedWorkflows: int(env, 'WORKER_MAX_CACHED_WORKFLOWS', 400),
      longLivedMaxCachedWorkflows: int(env, 'WORKER_LONG_LIVED_MAX_CACHED_WORKFLOWS', 100),
    },
    api: {
      host: apiHost,
      port: apiPort,
      publicBaseUrl: (env.PUBLIC_BASE_URL ?? `http://${apiHost}:${apiPort}`).replace(/\/$/, ''),
      tokenTtlSeconds: int(env, 'TOKEN_TTL_SECONDS', 3600),
      bodyLimit: env.API_BODY_LIMIT ?? '100kb',
      bankAnswerWaitMs: int(env, 'API_BANK_ANSWER_WAIT_MS', 25_000),
      trustProxy: env.API_TRUST_PROXY || undefined,
    },
    rateLimits: {
      perClient: { limit: int(env, 'RATE_LIMIT_PER_CLIENT', 1000), windowMs: int(env, 'RATE_LIMIT_WINDOW_SECONDS', 10) * 1000 },
      tokenPerAddress: { limit: int(env, 'TOKEN_RATE_LIMIT_PER_ADDRESS', 30), windowMs: int(env, 'TOKEN_RATE_LIMIT_WINDOW_SECONDS', 60) * 1000 },
      tokenPerClient: { limit: int(env, 'TOKEN_RATE_LIMIT_PER_CLIENT', 10), windowMs: int(env, 'TOKEN_RATE_LIMIT_WINDOW_SECONDS', 60) * 1000 },
    },
    sandbox: {
      host: sandboxHost,
      bgPort,
      bgUrl: (env.SANDBOX_BG_URL ?? `http://${sandboxHost}:${bgPort}/berlin-group`).replace(/\/$/, ''),
      bgPublicUrl: (env.SANDBOX_BG_PUBLIC_URL || env.SANDBOX_BG_URL || `http://${sandboxHost}:${bgPort}/berlin-group`).replace(/\/$/, ''),
      payseraPort: int(env, 'SANDBOX_PAYSERA_PORT', 3004),
      payseraUrl: (env.SANDBOX_PAYSERA_URL || `https://${sandboxHost}:${int(env, 'SANDBOX_PAYSERA_PORT', 3004)}/psd2`).replace(/\/$/, ''),
      payseraPublicUrl: env.SANDBOX_PAYSERA_PUBLIC_URL
        ? `${env.SANDBOX_PAYSERA_PUBLIC_URL.replace(/\/+$/, '')}/psd2`
        : (env.SANDBOX_PAYSERA_URL || `https://${sandboxHost}:${int(env, 'SANDBOX_PAYSERA_PORT', 3004)}/psd2`).replace(/\/$/, ''),
    },
    ukObie: loadUkObieConfig(env, sandboxHost),
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
        lookupInitialMs: int(env, 'OPEN_PAYMENTS_LOOKUP_INITIAL_SECONDS', 60) * 1000,
        lookupMaxMs: int(env, 'OPEN_PAYMENTS_LOOKUP_MAX_SECONDS', 3600) * 1000,
        lookupDeadlineMs: int(env, 'OPEN_PAYMENTS_LOOKUP_DEADLINE_SECONDS', 7 * 24 * 3600) * 1000,
      },
      quoteExpiryMarginMs: int(env, 'OPEN_PAYMENTS_QUOTE_EXPIRY_MARGIN_SECONDS', 60) * 1000,
      extraCaPem: env.OPEN_PAYMENTS_EXTRA_CA_FILE ? readFileSync(env.OPEN_PAYMENTS_EXTRA_CA_FILE, 'utf8') : undefined,
    },
    keys: loadKeys(env),
    bankTls: loadBankTls(env),
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
    periodic: {
      observeEveryMs: int(env, 'PERIODIC_OBSERVE_EVERY_MS', 6 * 3600_000),
      graceBusinessDays: int(env, 'PERIODIC_GRACE_BUSINESS_DAYS', 2),
      executionsPerRun: int(env, 'PERIODIC_EXECUTIONS_PER_RUN', 24),
    },
    batches: {
      concurrency: int(env, 'BATCH_CONCURRENCY', 100),
      pageSize: int(env, 'BATCH_PAGE_SIZE', 100),
      childrenPerRun: int(env, 'BATCH_CHILDREN_PER_RUN', 1000),
      progressIntervalMs: int(env, 'BATCH_PROGRESS_INTERVAL_MS', 2000),
    },
  };
}
