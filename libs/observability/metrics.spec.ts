import { BankError, type BankAdapter } from '../adapters/bank-adapter';
import { loadObservabilityConfig } from './config';
import { METRIC_NAMES, WorkerMetrics } from './metrics';

async function value(metrics: WorkerMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter((v) => Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l))
    .reduce((sum, v) => sum + Number(v.value), 0);
}

describe('WorkerMetrics', () => {
  const conn = { bicFi: 'SANDDEB0XXX', baseUrl: 'http://bank' };
  const adapter = {
    protocol: 'berlin-group',
    initiatePayment: async () => ({ ok: true }),
    getPaymentStatus: async () => {
      throw new BankError('unavailable', 'GET /status → HTTP 503', { httpStatus: 503 });
    },
  } as unknown as BankAdapter;

  it('times adapter calls by BIC and operation and counts BankErrors by kind and fate, passing results and errors through', async () => {
    const metrics = new WorkerMetrics();
    const timed = metrics.instrumentAdapter(adapter);
    expect(timed.protocol).toBe('berlin-group');
    await expect(timed.initiatePayment(conn, {} as never)).resolves.toEqual({ ok: true });
    await expect(timed.getPaymentStatus(conn, {} as never)).rejects.toBeInstanceOf(BankError);
    expect(timed.findInitiatedPayment).toBeUndefined();
    const json = await metrics.registry.getMetricsAsJSON();
    const counts = json.find((m) => m.name === METRIC_NAMES.bankRequestDuration)!.values.filter((v) => (v as { metricName?: string }).metricName?.endsWith('_count'));
    expect(counts.map((v) => [v.labels.operation, v.labels.outcome, v.value])).toEqual(
      expect.arrayContaining([
        ['initiatePayment', 'ok', 1],
        ['getPaymentStatus', 'unavailable', 1],
      ]),
    );
    expect(await value(metrics, METRIC_NAMES.bankErrors, { bic: 'SANDDEB0XXX', operation: 'getPaymentStatus', kind: 'unavailable', fate: 'ambiguous' })).toBe(1);
  });

  it('counts SCA outcomes with their time to SCA, and webhook attempts', async () => {
    const metrics = new WorkerMetrics();
    const start = new Date('2026-12-01T10:00:00Z');
    metrics.paymentStatusChanged({ kind: 'sca_status', status: 'started', bic: 'B', scaStartedAt: start, now: new Date('2026-12-01T10:00:05Z') });
    metrics.paymentStatusChanged({ kind: 'sca_status', status: 'finalised', bic: 'B', scaStartedAt: start, now: new Date('2026-12-01T10:00:42Z') });
    metrics.paymentStatusChanged({ kind: 'transaction_status', status: 'ACSC', bic: 'B' });
    expect(await value(metrics, METRIC_NAMES.scaOutcomes, { bic: 'B', outcome: 'finalised' })).toBe(1);
    expect(await value(metrics, METRIC_NAMES.scaOutcomes, { bic: 'B' })).toBe(1);
    const hist = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === METRIC_NAMES.timeToSca)!;
    expect(hist.values.find((v) => (v as { metricName?: string }).metricName === `${METRIC_NAMES.timeToSca}_sum`)?.value).toBe(42);
    expect(await value(metrics, METRIC_NAMES.paymentStatusChanges, { kind: 'transaction_status', status: 'ACSC' })).toBe(1);
    const webhooks = metrics.webhookMetrics();
    webhooks.attempt('delivered', 120);
    webhooks.attempt('failed', null);
    webhooks.endpointDisabled();
    expect(await value(metrics, METRIC_NAMES.webhookAttempts, { outcome: 'delivered' })).toBe(1);
    expect(await value(metrics, METRIC_NAMES.webhookAttempts, { outcome: 'failed' })).toBe(1);
    expect(await value(metrics, METRIC_NAMES.webhookEndpointsDisabled, {})).toBe(1);
  });
});

describe('loadObservabilityConfig', () => {
  const base = { env: 'development' as const, api: { host: '127.0.0.1' } as never };

  it('worker metrics on 9464, the SDK on the next port, migrations on boot outside production', () => {
    expect(loadObservabilityConfig({}, base)).toEqual({ workerMetrics: { host: '127.0.0.1', port: 9464 }, temporalMetricsBindAddress: '127.0.0.1:9465', migrationsOnBoot: true });
    expect(loadObservabilityConfig({}, { ...base, env: 'production' }).migrationsOnBoot).toBe(false);
    expect(loadObservabilityConfig({ MIGRATIONS_ON_BOOT: 'true' }, { ...base, env: 'production' }).migrationsOnBoot).toBe(true);
  });

  it('off disables both; a bad port is refused', () => {
    expect(loadObservabilityConfig({ WORKER_METRICS_PORT: 'off' }, base)).toMatchObject({ workerMetrics: null, temporalMetricsBindAddress: null });
    expect(() => loadObservabilityConfig({ WORKER_METRICS_PORT: 'abc' }, base)).toThrow(/WORKER_METRICS_PORT/);
    expect(loadObservabilityConfig({ WORKER_METRICS_PORT: '9100', TEMPORAL_METRICS_PORT: '9200', WORKER_METRICS_HOST: '0.0.0.0' }, base)).toMatchObject({
      workerMetrics: { host: '0.0.0.0', port: 9100 },
      temporalMetricsBindAddress: '127.0.0.1:9200',
    });
  });
});
