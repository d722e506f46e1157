import { EventSubscriber, type DataSource, type EntityManager, type EntitySubscriberInterface, type TransactionCommitEvent, type TransactionRollbackEvent } from 'typeorm';
import type { OutboxEvent } from '../webhooks/events';
import { runAsOneTransaction, type Statement } from './one-round-trip';

/**
 * The transactional outbox. A repository that changes a status calls `appendEvent(em, …)` inside
 * the same transaction, so the change and its event commit together or not at all: a crash between
 * them is impossible by construction. The same statement fans the event out to the tenant's
 * subscribed endpoints (`webhook_deliveries`), and once the transaction has committed, listeners
 * registered with `onEventsCommitted` learn which endpoints have new work (the worker wakes their
 * dispatchers). A listener that misses it (a crash right after commit) is covered by the sweep.
 */
export async function appendEvent(em: EntityManager, event: OutboxEvent): Promise<void> {
  const runner = em.queryRunner;
  if (!runner?.isTransactionActive) throw new Error('appendEvent must run inside the transaction that makes the change');
  // Serialises with a TPP-Notification-URI subscription of the same resource
  // (WebhookRepository.subscribeNotifications): each event is then either fanned out to it or
  // backfilled by it, never neither. The lock must be held before the statement below takes its
  // snapshot, so it is an earlier statement (`changeWithEvent` below does the same in one round
  // trip).
  await em.query(OUTBOX_LOCK_SQL, [event.subjectId]);
  const fanOut = fanOutStatement(event);
  const rows: FanOutRow[] = await em.query(fanOut.sql, fanOut.params);
  if (rows.length) wakeupsOf(runner.data).add(...wakeupsFor(event, rows));
}

/** The outbox's lock on a resource (see appendEvent); parameter: the subject id. */
const OUTBOX_LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))';

/** What the fan-out statement returns: the endpoints that got a delivery. */
interface FanOutRow {
  endpoint_id: string;
  streaming: boolean;
}

/**
 * The event's statement: stores it (once per dedupe key) and fans it out to the tenant's subscribed
 * endpoints and the resource's notification subscriptions. It must run after the subject's outbox
 * lock was taken, in a statement of its own (its snapshot must follow the lock). `onlyIf`: a
 * condition (its own `$1`…) without which nothing is stored; its snapshot sees the statements before.
 */
function fanOutStatement(event: OutboxEvent, onlyIf?: Statement): Statement {
  const EVENT_PARAMS = 8;
  const condition = onlyIf ? onlyIf.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + EVENT_PARAMS}`) : 'TRUE';
  return {
    sql: `WITH ev AS (
       INSERT INTO domain_events (id, tenant_id, type, subject_id, dedupe_key, payload, notification_content, notification_final)
       SELECT $1::uuid, $2::varchar, $3::varchar, $4::uuid, $5::varchar, $6::jsonb, $7::varchar, $8::boolean
        WHERE ${condition}
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, tenant_id, type, subject_id, notification_content, notification_final
     ), hooks AS (
       INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, subject_id, format)
       SELECT ev.tenant_id, w.id, ev.id, ev.subject_id, 'event'
         FROM ev JOIN webhook_endpoints w
           ON w.tenant_id = ev.tenant_id AND w.enabled AND (w.event_types IS NULL OR ev.type = ANY (w.event_types))
       RETURNING endpoint_id
     ), notes AS (
       INSERT INTO webhook_deliveries (tenant_id, endpoint_id, event_id, subject_id, format, target_url)
       SELECT ev.tenant_id, s.endpoint_id, ev.id, ev.subject_id, 'bg_notification', s.uri
         FROM ev JOIN resource_notification_subscriptions s ON s.subject_id = ev.subject_id AND s.tenant_id = ev.tenant_id
         JOIN webhook_endpoints w ON w.id = s.endpoint_id AND w.enabled
        WHERE ev.notification_content = ANY (s.content) OR (ev.notification_final AND 'LAST' = ANY (s.content))
       RETURNING endpoint_id
     )
     SELECT DISTINCT f.endpoint_id, COALESCE(w.streaming_until > now(), false) AS streaming
       FROM (SELECT endpoint_id FROM hooks UNION ALL SELECT endpoint_id FROM notes) f JOIN webhook_endpoints w ON w.id = f.endpoint_id`,
    params: [
      event.id,
      event.tenantId,
      event.type,
      event.subjectId,
      event.dedupeKey,
      JSON.stringify(event.data),
      event.bgNotification?.content ?? null,
      event.bgNotification?.final ?? false,
      ...(onlyIf?.params ?? []),
    ],
  };
}

function wakeupsFor(event: OutboxEvent, rows: readonly FanOutRow[]): EndpointWakeup[] {
  return rows.map((r) => ({ endpointId: r.endpoint_id, tenantId: event.tenantId, streaming: r.streaming }));
}

/**
 * A status change and its event in one transaction and one round trip (`runAsOneTransaction`): the
 * subject's outbox lock, the change (one statement), then the event's fan-out, whose snapshot
 * follows the lock as `appendEvent` requires. After the commit the endpoints the fan-out reached are
 * handed to the listeners, as `OutboxCommitSubscriber` does. Without an event (a payment's unknown
 * initiation outcome), the lock and the change alone. `eventOnlyIf`: a condition the event needs,
 * checked after the change (a change that may not apply, and whose event must then not exist).
 * Returns the change's rows.
 */
export async function changeWithEvent(
  ds: DataSource,
  subjectId: string,
  change: Statement,
  event: OutboxEvent | undefined,
  opts: { eventOnlyIf?: Statement } = {},
): Promise<unknown[]> {
  const results = await runAsOneTransaction(ds, [{ sql: OUTBOX_LOCK_SQL, params: [subjectId] }, change, ...(event ? [fanOutStatement(event, opts.eventOnlyIf)] : [])]);
  const reached = (results[2] ?? []) as FanOutRow[];
  if (event && reached.length) notify(ds, wakeupsFor(event, reached));
  return results[1] ?? [];
}

/** Endpoints with new deliveries, by the transaction that created them. */
export interface EndpointWakeup {
  endpointId: string;
  tenantId: string;
  /** Its dispatcher is streaming (polling for new work): no Temporal signal needed. */
  streaming?: boolean;
}

export type EventsCommittedListener = (wakeups: EndpointWakeup[]) => void;

const WAKEUPS = Symbol('clearway.outboxWakeups');

class WakeupSet {
  private readonly byEndpoint = new Map<string, EndpointWakeup>();
  add(...wakeups: EndpointWakeup[]): void {
    for (const w of wakeups) this.byEndpoint.set(w.endpointId, w);
  }
  drain(): EndpointWakeup[] {
    const all = [...this.byEndpoint.values()];
    this.byEndpoint.clear();
    return all;
  }
}

function wakeupsOf(data: object): WakeupSet {
  const slot = data as { [WAKEUPS]?: WakeupSet };
  return (slot[WAKEUPS] ??= new WakeupSet());
}

const listeners = new WeakMap<DataSource, Set<EventsCommittedListener>>();

/** Called after every commit that fanned out deliveries through this DataSource. Returns an unsubscribe. */
export function onEventsCommitted(ds: DataSource, listener: EventsCommittedListener): () => void {
  let set = listeners.get(ds);
  if (!set) listeners.set(ds, (set = new Set()));
  set.add(listener);
  return () => set.delete(listener);
}

function notify(ds: DataSource, wakeups: EndpointWakeup[]): void {
  for (const listener of listeners.get(ds) ?? []) {
    try {
      listener(wakeups);
    } catch {
      // A listener's fault must not fail a committed transaction; the sweep catches up.
    }
  }
}

/** Registered on every DataSource (data-source.ts): hands a committed transaction's wakeups to the listeners. */
@EventSubscriber()
export class OutboxCommitSubscriber implements EntitySubscriberInterface {
  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner;
    // A savepoint release is not the commit.
    if (runner.isTransactionActive) return;
    const pending = wakeupsOf(runner.data).drain();
    if (pending.length) notify(event.connection, pending);
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) wakeupsOf(event.queryRunner.data).drain();
  }
}
