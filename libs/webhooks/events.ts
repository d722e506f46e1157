/**
 * The webhook event catalogue and the mappers that turn a status change into an event. Events carry
 * ids, statuses and amounts, never IBANs, names, wallet addresses or remittance text: the data a
 * client needs to act, and to look the rest up through the API.
 *
 * Adding an event type is one line in WEBHOOK_EVENT_TYPES plus one `appendEvent(em, …)` in the
 * repository transaction that makes the change (see libs/persistence/event-outbox.ts).
 */
import { randomUUID } from 'node:crypto';
import { FINAL_CONSENT_STATUSES, type ConsentStatus } from '../domain/consent';
import { isFinalTransactionStatus, type TransactionStatus } from '../domain/transaction-status';
import type { OpAmount } from '../adapters/open-payments/types';
import type { NotificationContent } from '../persistence/entities/webhook.entity';

export const WEBHOOK_EVENT_TYPES = {
  'payment.status_changed': 'A single payment changed transactionStatus (Berlin Group codes: ACTC, ACSP, ACSC, RJCT, CANC, PDNG, …).',
  'payment.sca_status_changed': "A single payment's authorisation changed scaStatus (received, started, finalised, failed, …).",
  'bulk_payment.status_changed': 'A bulk payment changed transactionStatus.',
  'bulk_payment.sca_status_changed': "A bulk payment's authorisation changed scaStatus.",
  'periodic_payment.status_changed': 'A periodic payment (standing order) changed transactionStatus.',
  'periodic_payment.sca_status_changed': "A periodic payment's authorisation changed scaStatus.",
  'periodic_payment.executed': 'An execution of a standing order was booked on the debtor account (seen through the AIS consent given with it).',
  'periodic_payment.execution_failed': 'An execution of a standing order was not booked by the bank within its grace period (e.g. insufficient funds).',
  'consent.status_changed': 'An account-information consent changed consentStatus (valid, rejected, revokedByPsu, expired, terminatedByTpp, …).',
  'consent.sca_status_changed': "A consent's authorisation changed scaStatus.",
  'consent.expiring': 'A valid consent reaches its validUntil in 7 days: ask the PSU to renew it.',
  'transfer.status_changed': 'An Open Payments transfer changed status (awaiting_authorisation, sending, unknown, completed, failed, rejected, expired, cancelled).',
  'mandate.status_changed': 'An Open Payments mandate changed status (active, paused, cancelled, rejected, expired, failed).',
  'mandate.period_status_changed': "One period of an Open Payments mandate changed its payment's status (sending, unknown, completed, failed, skipped).",
  'batch.status_changed': 'A pain.001 batch changed status (received, awaiting_authorisation, processing, completed, partially_completed, rejected, cancelled), with its progress counts.',
  'batch.completed': 'A pain.001 batch is final (completed, partially_completed, rejected or cancelled): its pain.002 report is complete.',
} as const satisfies Record<string, string>;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return typeof value === 'string' && Object.hasOwn(WEBHOOK_EVENT_TYPES, value);
}

/** Which Berlin Group notification a change is, for TPP-Notification-URI subscribers (BG `TPP-Notification-Content-Preferred`). */
export interface BgNotificationClass {
  content: Exclude<NotificationContent, 'LAST'>;
  /** A last (final) consentStatus or transactionStatus: what `LAST` subscribers receive. */
  final: boolean;
}

/** An event as written to the outbox, in the same transaction as the change it reports. */
export interface OutboxEvent {
  /** Also the Standard Webhooks `webhook-id`: the same for every delivery and replay of this event. */
  id: string;
  type: WebhookEventType;
  tenantId: string;
  /** The resource the event is about; its events reach an endpoint in order. */
  subjectId: string;
  /** Writing the same change twice (an activity retry) stores one event. */
  dedupeKey: string;
  data: Record<string, unknown>;
  bgNotification?: BgNotificationClass;
}

/** The JSON every endpoint receives. */
export interface WebhookEnvelope {
  type: WebhookEventType;
  id: string;
  createdAt: string;
  tenantId: string;
  data: Record<string, unknown>;
}

function event(e: Omit<OutboxEvent, 'id' | 'dedupeKey'> & { dedupeKey?: string }): OutboxEvent {
  const id = randomUUID();
  return { id, ...e, dedupeKey: e.dedupeKey ?? `${e.type}:${id}` };
}

const PAYMENT_EVENT_PREFIX: Record<string, 'payment' | 'bulk_payment' | 'periodic_payment'> = {
  payments: 'payment',
  'bulk-payments': 'bulk_payment',
  'periodic-payments': 'periodic_payment',
};

/** A payment's status change; `seq` is the workflow's, so a retried write is one event. */
export function paymentStatusEvent(
  payment: { id: string; tenantId: string; paymentService: string; paymentProduct: string; body: { instructedAmount?: { currency: string; amount: string } } },
  change: { seq: number; kind: 'transaction_status' | 'sca_status'; status: string; reason?: string | null; authorisationId?: string },
): OutboxEvent {
  const prefix = PAYMENT_EVENT_PREFIX[payment.paymentService] ?? 'payment';
  const common = { paymentId: payment.id, paymentService: payment.paymentService, paymentProduct: payment.paymentProduct };
  const dedupeKey = `payment:${payment.id}:${change.seq}`;
  if (change.kind === 'sca_status') {
    return event({
      type: `${prefix}.sca_status_changed`,
      tenantId: payment.tenantId,
      subjectId: payment.id,
      dedupeKey,
      data: { ...common, ...(change.authorisationId ? { authorisationId: change.authorisationId } : {}), scaStatus: change.status },
      bgNotification: { content: 'SCA', final: false },
    });
  }
  const amount = payment.body.instructedAmount;
  return event({
    type: `${prefix}.status_changed`,
    tenantId: payment.tenantId,
    subjectId: payment.id,
    dedupeKey,
    data: {
      ...common,
      transactionStatus: change.status,
      ...(change.reason ? { statusReason: change.reason } : {}),
      ...(amount ? { instructedAmount: { currency: amount.currency, amount: amount.amount } } : {}),
    },
    bgNotification: { content: 'PROCESS', final: isFinalTransactionStatus(change.status as TransactionStatus) },
  });
}

export function consentStatusEvent(
  consent: { id: string; tenantId: string },
  change: { seq: number; kind: 'consent_status' | 'sca_status'; status: string; reason?: string | null; authorisationId?: string },
): OutboxEvent {
  const dedupeKey = `consent:${consent.id}:${change.seq}`;
  if (change.kind === 'sca_status') {
    return event({
      type: 'consent.sca_status_changed',
      tenantId: consent.tenantId,
      subjectId: consent.id,
      dedupeKey,
      data: { consentId: consent.id, ...(change.authorisationId ? { authorisationId: change.authorisationId } : {}), scaStatus: change.status },
      bgNotification: { content: 'SCA', final: false },
    });
  }
  return event({
    type: 'consent.status_changed',
    tenantId: consent.tenantId,
    subjectId: consent.id,
    dedupeKey,
    data: { consentId: consent.id, consentStatus: change.status, ...(change.reason ? { statusReason: change.reason } : {}) },
    bgNotification: { content: 'PROCESS', final: FINAL_CONSENT_STATUSES.has(change.status as ConsentStatus) },
  });
}

/** Any other event (consent.expiring): the caller names the dedupe key that makes it happen once. */
export function genericEvent(e: { type: WebhookEventType; tenantId: string; subjectId: string; dedupeKey: string; data: Record<string, unknown> }): OutboxEvent {
  return event(e);
}

export function transferStatusEvent(
  transfer: { id: string; tenantId: string; debitAmount: OpAmount | null; receiveAmount: OpAmount | null; sentAmount: OpAmount | null },
  change: { seq: number; status: string; reason?: string | null },
): OutboxEvent {
  return event({
    type: 'transfer.status_changed',
    tenantId: transfer.tenantId,
    subjectId: transfer.id,
    dedupeKey: `transfer:${transfer.id}:${change.seq}`,
    data: {
      transferId: transfer.id,
      status: change.status,
      ...(change.reason ? { reason: change.reason } : {}),
      ...(transfer.debitAmount ? { debitAmount: transfer.debitAmount } : {}),
      ...(transfer.receiveAmount ? { receiveAmount: transfer.receiveAmount } : {}),
      ...(transfer.sentAmount ? { sentAmount: transfer.sentAmount } : {}),
    },
  });
}

/** Mandates change status only on a real transition (the repository guards it), so no sequence is needed. */
export function mandateStatusEvent(mandate: { id: string; tenantId: string; debitAmount: OpAmount }, status: string, reason: string | null): OutboxEvent {
  return event({
    type: 'mandate.status_changed',
    tenantId: mandate.tenantId,
    subjectId: mandate.id,
    data: { mandateId: mandate.id, status, ...(reason ? { reason } : {}), debitAmount: mandate.debitAmount },
  });
}

export function mandatePeriodEvent(
  mandate: { id: string; tenantId: string },
  period: { periodStart: Date; status: string; reason: string | null; sentAmount: OpAmount | null },
): OutboxEvent {
  return event({
    type: 'mandate.period_status_changed',
    tenantId: mandate.tenantId,
    subjectId: mandate.id,
    data: {
      mandateId: mandate.id,
      periodStart: period.periodStart.toISOString(),
      status: period.status,
      ...(period.reason ? { reason: period.reason } : {}),
      ...(period.sentAmount ? { sentAmount: period.sentAmount } : {}),
    },
  });
}

/**
 * The Berlin Group notification body for a TPP-Notification-URI: the resource id and the status
 * attribute that changed, as the resource's own status response names them.
 */
export function bgNotificationBody(envelope: WebhookEnvelope): Record<string, unknown> {
  const d = envelope.data;
  const pick = (...keys: string[]) => Object.fromEntries(keys.filter((k) => d[k] !== undefined).map((k) => [k, d[k]]));
  return pick('paymentId', 'consentId', 'authorisationId', 'transactionStatus', 'consentStatus', 'scaStatus');
}
