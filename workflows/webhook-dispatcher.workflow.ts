import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhook.activities';
import { WebhookEndpointHealth } from '../libs/temporal/search-attributes';
import { retryPolicy } from './shared/retry-policies';
import { STATUS_VIEW_DESCRIPTION, statusViewQuery } from './shared/status-view';
import {
  webhookDispatcherStateQuery,
  webhookWakeUpSignal,
  type DeliveryRoundResult,
  type WebhookDispatcherInput,
  type WebhookDispatcherState,
  type WebhookEndpointHealth as Health,
} from './webhook.api';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * The retry schedule of Standard Webhooks senders (Svix; Stripe's is similar): the first attempt at
 * once, then these delays between attempts: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. Eight attempts
 * over about 27.6 hours; a delivery still failing after the last is given up (and can be retried or
 * replayed through the API).
 */
export const WEBHOOK_RETRY_DELAYS_MS = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];
/** An endpoint whose every attempt failed for this long is disabled, with the reason stored on it. */
export const WEBHOOK_DISABLE_AFTER_MS = 3 * 24 * HOUR;
/** A 2xx within 15 s is success. */
const ATTEMPT_TIMEOUT_MS = 15 * SECOND;
/** Deliveries per round, and how many of them are in flight at once. */
const MAX_BATCH = 200;
const CONCURRENCY = 32;
/** A busy endpoint's round streams for up to a minute, polling every 100 ms, until 2 s pass without a delivery. */
const STREAM_MS = 60 * SECOND;
const LINGER_MS = 2 * SECOND;
const POLL_MS = 100;
/** With nothing pending, the dispatcher waits this long for new work before it completes (the next event starts it again). */
const IDLE_COMPLETE_MS = 5 * MINUTE;
const MAX_ROUNDS_PER_RUN = 500;

/**
 * A round sends batches of at most MAX_BATCH requests, CONCURRENCY at a time, each bounded by the
 * 15 s timeout; it streams for at most STREAM_MS (plus a last batch) and heartbeats throughout. Failing HTTP requests are recorded outcomes, not activity failures: only our own faults
 * (database down, worker crash) retry the activity, indefinitely, since a delivery must never be lost.
 */
const rounds = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '3m',
  heartbeatTimeout: '30s',
  retry: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' }),
});

/**
 * One per webhook endpoint (`webhook-endpoint-<id>`): the single consumer of its deliveries. It drains
 * what is due in rounds, sleeps until the next retry is due or a wakeup signal arrives (the outbox
 * commit, the API's retry and replay, the sweep), and completes once idle. It carries counts only.
 */
export async function webhookDispatcherWorkflow(input: WebhookDispatcherInput): Promise<WebhookDispatcherState> {
  const state: WebhookDispatcherState = input.resume ?? { health: 'healthy', delivered: 0, failedAttempts: 0, gaveUp: 0, rounds: 0 };
  const retryDelaysMs = input.retryDelaysMs ?? WEBHOOK_RETRY_DELAYS_MS;
  let wakeups = 0;
  let roundsThisRun = 0;

  setHandler(webhookWakeUpSignal, () => {
    wakeups++;
  });
  setHandler(webhookDispatcherStateQuery, () => state);
  let details = '';
  setHandler(
    statusViewQuery,
    () => ({
      resource: 'webhook-endpoint',
      id: input.endpointId,
      phase: state.health,
      details,
      api: { enabled: state.health !== 'disabled' && state.health !== 'deleted', health: state.health, disabledReason: state.disabledReason },
      href: `/webhooks/v1/endpoints/${input.endpointId}`,
    }),
    { description: STATUS_VIEW_DESCRIPTION },
  );

  function setHealth(health: Health): void {
    if (state.health === health) return;
    state.health = health;
    upsertSearchAttributes([{ key: WebhookEndpointHealth, value: health }]);
  }

  function describe(phase: string): void {
    const failing = state.failingSince ? `\n\nFailing since ${new Date(state.failingSince).toISOString()}.` : '';
    const disabled = state.disabledReason ? `\n\n${state.disabledReason}` : '';
    details = `**${phase}**\n\nDelivered ${state.delivered}, failed attempts ${state.failedAttempts}, given up ${state.gaveUp}, rounds ${state.rounds}.${failing}${disabled}`;
    setCurrentDetails(details);
  }

  function apply(round: DeliveryRoundResult): void {
    state.rounds++;
    roundsThisRun++;
    state.delivered += round.delivered;
    state.failedAttempts += round.failed;
    state.gaveUp += round.gaveUp;
    state.failingSince = round.failingSince ?? undefined;
    if (round.endpoint === 'enabled') setHealth(round.failingSince ? 'failing' : 'healthy');
  }

  for (;;) {
    const seen = wakeups;
    const round = await rounds.deliverDueWebhooks.executeWithOptions({ summary: 'Send the deliveries that are due' }, [
      {
        endpointId: input.endpointId,
        now: Date.now(),
        retryDelaysMs,
        disableAfterMs: WEBHOOK_DISABLE_AFTER_MS,
        maxBatch: MAX_BATCH,
        concurrency: CONCURRENCY,
        attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
        streamMs: STREAM_MS,
        lingerMs: LINGER_MS,
        pollMs: POLL_MS,
      },
    ]);
    apply(round);
    if (round.endpoint !== 'enabled') {
      state.disabledReason = round.disabledReason;
      setHealth(round.endpoint);
      describe(round.endpoint === 'deleted' ? 'Endpoint deleted' : 'Endpoint disabled: waiting to be enabled again');
      break;
    }
    if (!round.more) {
      const wait = round.nextDueAt === null ? IDLE_COMPLETE_MS : Math.max(round.nextDueAt - Date.now(), 0);
      describe(round.nextDueAt === null ? 'Idle: nothing pending' : `Waiting for the next retry at ${new Date(round.nextDueAt).toISOString()}`);
      const woken = await condition(() => wakeups !== seen, wait, {
        summary: round.nextDueAt === null ? 'Idle: complete unless new events arrive' : 'Next retry due',
      });
      if (!woken && wakeups === seen && round.nextDueAt === null) break;
    } else {
      describe('Sending');
    }
    if (workflowInfo().continueAsNewSuggested || roundsThisRun >= MAX_ROUNDS_PER_RUN) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof webhookDispatcherWorkflow>({ ...input, resume: state });
    }
  }
  await condition(allHandlersFinished);
  return state;
}

/** The sweep, run by the `webhook-sweep-<taskQueue>` Schedule: wakes every dispatcher with due work. */
const sweeps = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '1m',
  retry: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 }),
});

export async function webhookSweepWorkflow(): Promise<number> {
  let details = 'Waking dispatchers with due deliveries';
  setHandler(statusViewQuery, () => ({ resource: 'webhook-sweep', id: 'sweep', phase: 'sweeping', details, api: {} }), { description: STATUS_VIEW_DESCRIPTION });
  const woken = await sweeps.wakeDueWebhookDispatchers.executeWithOptions({ summary: 'Wake dispatchers with due deliveries' }, []);
  details = `Woke ${woken} webhook dispatcher(s) with due deliveries.`;
  setCurrentDetails(details);
  return woken;
}
