import { batchStatusOf, emptyProgress, type BatchBulkState, type BatchProgressCounts, type BatchSinglePaymentRow } from '../../../libs/persistence/batch-progress';
import type { BatchEntity, BatchStatus } from '../../../libs/persistence/entities/batch.entity';
import { FINAL_BATCH_STATUSES } from '../../../libs/persistence/entities/batch.entity';
import type { BatchPaymentInfoEntity } from '../../../libs/persistence/entities/batch-payment-info.entity';

export const BATCHES_PATH = '/batches/v1/batches';

/** A bulk payment as the batch shows it (from the bulk's own rows). */
export type BulkView = Pick<BatchBulkState, 'transactionStatus' | 'scaApproach' | 'scaRedirectUrl' | 'psuMessage' | 'statusReason'>;

/**
 * The batch document (contract: `apps/cli/batch-api.ts`). The status is the workflow's once
 * final; before that it is read from the transactions' own rows, so a client polling sees progress
 * as it happens.
 */
export function toBatchDocument(
  batch: BatchEntity,
  infos: BatchPaymentInfoEntity[],
  progress: Map<number, BatchProgressCounts>,
  bulks: Map<number, BulkView> = new Map(),
): object {
  const total = emptyProgress();
  const perInfo = infos.map((info) => {
    const p = progress.get(info.pmtInfIndex) ?? emptyProgress(info.numberOfTransactions);
    for (const key of Object.keys(total) as (keyof BatchProgressCounts)[]) total[key] += p[key];
    return p;
  });
  const status: BatchStatus = FINAL_BATCH_STATUSES.has(batch.status) ? batch.status : liveStatus(total);
  const self = `${BATCHES_PATH}/${batch.id}`;
  return {
    batchId: batch.id,
    msgId: batch.msgId,
    status,
    ...(batch.statusReason ? { statusReason: batch.statusReason } : {}),
    ...(batch.cancelRequestedAt ? { cancellationRequestedAt: batch.cancelRequestedAt.toISOString() } : {}),
    createdAt: batch.createdAt.toISOString(),
    numberOfTransactions: batch.numberOfTransactions,
    controlSum: batch.controlSum,
    totals: batch.totals,
    progress: total,
    bulks: infos.map((info, i) => toBulk(batch, info, perInfo[i]!, bulks.get(info.pmtInfIndex))),
    _links: { self: { href: self }, report: { href: `${self}/report` } },
  };
}

/** Not final yet: never "completed" before the workflow says so, however the counts look. */
function liveStatus(p: BatchProgressCounts): BatchStatus {
  const s = batchStatusOf(p);
  return FINAL_BATCH_STATUSES.has(s) ? 'processing' : s;
}

function toBulk(batch: BatchEntity, info: BatchPaymentInfoEntity, progress: BatchProgressCounts, bulk?: BulkView): object {
  const common = {
    pmtInfId: info.pmtInfId,
    route: info.route,
    bicFi: info.bicFi,
    paymentProduct: info.paymentProduct,
    numberOfTransactions: info.numberOfTransactions,
    controlSum: info.controlSum,
    totals: info.totals,
    progress,
  };
  if (info.route === 'single') {
    return {
      ...common,
      payments: { count: info.numberOfTransactions, href: `${BATCHES_PATH}/${batch.id}/payments?pmtInfId=${encodeURIComponent(info.pmtInfId)}` },
    };
  }
  return {
    ...common,
    paymentId: info.paymentId,
    transactionStatus: bulk?.transactionStatus ?? 'RCVD',
    ...(bulk?.scaApproach ? { scaApproach: bulk.scaApproach } : {}),
    ...(bulk?.psuMessage ? { psuMessage: bulk.psuMessage } : {}),
    ...(bulk?.statusReason ? { statusReason: bulk.statusReason } : {}),
    _links: {
      ...(bulk?.scaRedirectUrl ? { scaRedirect: { href: bulk.scaRedirectUrl } } : {}),
      status: { href: `/psd2/paymentinitiation/v1/bulk-payments/${info.paymentProduct}/${info.paymentId}/status` },
    },
  };
}

export function toListItem(batch: BatchEntity): object {
  return {
    batchId: batch.id,
    msgId: batch.msgId,
    status: batch.status,
    createdAt: batch.createdAt.toISOString(),
    numberOfTransactions: batch.numberOfTransactions,
    controlSum: batch.controlSum,
    totals: batch.totals,
    _links: { self: { href: `${BATCHES_PATH}/${batch.id}` } },
  };
}

export function toSinglePayment(row: BatchSinglePaymentRow): object {
  return {
    endToEndId: row.endToEndId,
    paymentId: row.paymentId,
    transactionStatus: row.transactionStatus ?? 'RCVD',
    ...(row.psuMessage ? { psuMessage: row.psuMessage } : {}),
    _links: {
      ...(row.scaRedirectUrl ? { scaRedirect: { href: row.scaRedirectUrl } } : {}),
      status: { href: `/psd2/paymentinitiation/v1/payments/${row.paymentProduct}/${row.paymentId}/status` },
    },
  };
}
