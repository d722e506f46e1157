import type { ClearwayConfig } from '../config/config';

/**
 * Observability settings, read from the environment next to {@link ClearwayConfig}.
 *
 * - `WORKER_METRICS_PORT` (default 9464; `off` disables): the worker's HTTP listener serving
 *   `GET /metrics` and `GET /health/live`. `WORKER_METRICS_HOST` defaults to API_HOST.
 * - `TEMPORAL_METRICS_PORT` (default WORKER_METRICS_PORT + 1): where the Temporal SDK's core serves
 *   its runtime metrics, always on 127.0.0.1; the worker's `/metrics` appends them, so one scrape
 *   target per worker is enough.
 * - `MIGRATIONS_ON_BOOT` (default true except with NODE_ENV=production): whether the API applies
 *   database migrations when it starts. Production runs `npm run migrate` (a release step or an
 *   init container) and the API only checks, in `/health/ready`, that none is pending.
 * - Traces: the standard `OTEL_*` variables (see libs/observability/tracing.ts).
 */
export interface ObservabilityConfig {
  workerMetrics: { host: string; port: number } | null;
  /** `127.0.0.1:<port>` for the SDK's Prometheus exporter, or null without worker metrics. */
  temporalMetricsBindAddress: string | null;
  migrationsOnBoot: boolean;
}

export function loadObservabilityConfig(env: NodeJS.ProcessEnv, config: Pick<ClearwayConfig, 'env' | 'api'>): ObservabilityConfig {
  const rawPort = (env.WORKER_METRICS_PORT ?? '9464').trim();
  const off = rawPort === 'off' || rawPort === 'false' || rawPort === '';
  const port = off ? null : portNumber('WORKER_METRICS_PORT', rawPort);
  const temporalPort = port === null ? null : env.TEMPORAL_METRICS_PORT ? portNumber('TEMPORAL_METRICS_PORT', env.TEMPORAL_METRICS_PORT) : port === 0 ? 0 : port + 1;
  const migrations = env.MIGRATIONS_ON_BOOT?.trim().toLowerCase();
  return {
    workerMetrics: port === null ? null : { host: env.WORKER_METRICS_HOST ?? config.api.host, port },
    // Port 0 cannot be told back by the SDK: without an explicit port there are no runtime metrics.
    temporalMetricsBindAddress: temporalPort ? `127.0.0.1:${temporalPort}` : null,
    migrationsOnBoot: migrations === undefined || migrations === '' ? config.env !== 'production' : migrations === 'true' || migrations === '1',
  };
}

function portNumber(name: string, raw: string): number {
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${name} must be a port number (0-65535) or "off", got "${raw}"`);
  return port;
}
