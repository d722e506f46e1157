import pino from 'pino';
import { METRIC_NAMES, WorkerMetrics } from '../../libs/observability/metrics';
import type { PaymentRepository } from '../../libs/persistence/payment.repository';
import { paymentStatusCounter } from './observability';

async function value(metrics: WorkerMetrics, name: string, labels: Record<string, string>, metricName = name): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return (metric?.values ?? [])
    .filter((v) => ((v as { metricName?: string }).metricName ?? name) === metricName)
    .filter((v) => Object.entries(labels).every(([k, l]) => String((v.labels as Record<string, unknown>)[k]) === l))
    .reduce((sum, v) => sum + Number(v.value), 0);
}

/** A payment repository that counts its reads: the status path must not need them when the workflow passes its labels. */
function countingPayments() {
  const reads: string[] = [];
  const payments = {
    findById: async (id: string) => {
      reads.push('findById');
      return { id, tenantId: 't', bicFi: 'FROMROWXXXX', createdAt: new Date(Date.now() - 60_000) };
    },
    findAuthorisation: async () => {
      reads.push('findAuthorisation');
      return null;
    },
  } as unknown as Pick<PaymentRepository, 'findById' | 'findAuthorisation'>;
  return { payments, reads };
}

describe('paymentStatusCounter', () => {
  const logger = pino({ level: 'silent' });

  it('labels the change with the BIC and SCA start the workflow passed, without reading the payment', async () => {
    const metrics = new WorkerMetrics();
    const { payments, reads } = countingPayments();
    const counted = paymentStatusCounter(metrics, payments, logger);
    const scaStartedAt = Date.now() - 7_000;
    await counted({ paymentId: 'p1', seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'a1', bicFi: 'SANDDEB0XXX', scaStartedAt });
    await counted({ paymentId: 'p1', seq: 1, kind: 'transaction_status', status: 'ACSC', rawStatus: 'ACSC', bicFi: 'SANDDEB0XXX' });
    expect(reads).toEqual([]);
    expect(await value(metrics, METRIC_NAMES.paymentStatusChanges, { bic: 'SANDDEB0XXX', kind: 'transaction_status', status: 'ACSC' })).toBe(1);
    expect(await value(metrics, METRIC_NAMES.scaOutcomes, { bic: 'SANDDEB0XXX', outcome: 'finalised' })).toBe(1);
    const seconds = await value(metrics, METRIC_NAMES.timeToSca, { bic: 'SANDDEB0XXX' }, `${METRIC_NAMES.timeToSca}_sum`);
    expect(seconds).toBeGreaterThanOrEqual(7);
    expect(seconds).toBeLessThan(30);
  });

  it('reads the payment for a change scheduled without the labels (an older workflow version, a periodic payment)', async () => {
    const metrics = new WorkerMetrics();
    const { payments, reads } = countingPayments();
    await paymentStatusCounter(metrics, payments, logger)({ paymentId: 'p2', seq: 0, kind: 'sca_status', status: 'finalised', rawStatus: 'FINALISED', authorisationId: 'a1' });
    expect(reads).toEqual(['findById', 'findAuthorisation']);
    expect(await value(metrics, METRIC_NAMES.scaOutcomes, { bic: 'FROMROWXXXX', outcome: 'finalised' })).toBe(1);
  });

  it('never rejects: a change it cannot label is stored all the same, and not counted', async () => {
    const metrics = new WorkerMetrics();
    const payments = { findById: async () => Promise.reject(new Error('db down')) } as unknown as Pick<PaymentRepository, 'findById' | 'findAuthorisation'>;
    await expect(paymentStatusCounter(metrics, payments, logger)({ paymentId: 'p3', seq: 0, kind: 'transaction_status', status: 'ACSP', rawStatus: 'ACSP' })).resolves.toBeUndefined();
    expect(await value(metrics, METRIC_NAMES.paymentStatusChanges, {})).toBe(0);
  });
});
