import type { Client } from '@temporalio/client';
import type { ClearwayConfig } from '../config/config';
import { TenantId, WebhookEndpointHealth } from '../temporal/search-attributes';
import {
  WEBHOOK_DISPATCHER_WORKFLOW_TYPE,
  webhookDispatcherWorkflowId,
  webhookWakeUpSignal,
  type WebhookDispatcherInput,
} from '../../workflows/webhook.api';
import type { EndpointWakeup } from '../persistence/event-outbox';
import { webhookDispatcherSummary } from '../../workflows/shared/ui-metadata';

export interface DispatcherSettings {
  taskQueue: string;
  /** Test override of the retry schedule; production leaves it to the workflow. */
  retryDelaysMs?: number[];
}

export function dispatcherSettings(config: Pick<ClearwayConfig, 'temporal' | 'webhooks'>): DispatcherSettings {
  return { taskQueue: config.temporal.taskQueue, retryDelaysMs: config.webhooks.retryDelaysMs };
}

/** Signals an endpoint's dispatcher that it has work, starting it when it is not running. */
export async function wakeDispatcher(client: Client, settings: DispatcherSettings, w: EndpointWakeup): Promise<void> {
  const input: WebhookDispatcherInput = { endpointId: w.endpointId, tenantId: w.tenantId, ...(settings.retryDelaysMs ? { retryDelaysMs: settings.retryDelaysMs } : {}) };
  await client.workflow.signalWithStart(WEBHOOK_DISPATCHER_WORKFLOW_TYPE, {
    workflowId: webhookDispatcherWorkflowId(w.endpointId),
    taskQueue: settings.taskQueue,
    args: [input],
    signal: webhookWakeUpSignal,
    signalArgs: [],
    staticSummary: webhookDispatcherSummary({ endpointId: w.endpointId, tenantId: w.tenantId }),
    staticDetails: `Sends the endpoint's pending webhook deliveries in order per resource, retries on the Standard Webhooks schedule, and disables the endpoint after 3 days of failures. Delivery log: \`GET /webhooks/v1/endpoints/${w.endpointId}/deliveries\`.`,
    typedSearchAttributes: [
      { key: TenantId, value: w.tenantId },
      { key: WebhookEndpointHealth, value: 'healthy' },
    ],
  });
}

/**
 * For the API after it queued deliveries (retry, replay, re-enable, a notification backfill): the rows
 * are committed, so when Temporal cannot be told now, the sweep starts the dispatcher later.
 */
export async function wakeOrLeaveToSweep(
  client: Client,
  settings: DispatcherSettings,
  w: EndpointWakeup,
  logger: { warn(obj: object, msg: string): void },
): Promise<void> {
  try {
    await wakeDispatcher(client, settings, w);
  } catch (err) {
    logger.warn({ err, endpointId: w.endpointId }, 'could not wake the webhook dispatcher; the sweep will');
  }
}

/**
 * Wakes dispatchers after outbox commits. Coalesced per endpoint: while a signal is on its way, new
 * wakeups for the same endpoint fold into one more signal, so a burst of events costs a few signals,
 * not one per event. A failed signal is logged and left to the sweep.
 */
export class DispatcherWaker {
  private readonly inFlight = new Map<string, { again: boolean }>();

  constructor(
    private readonly client: () => Promise<Client>,
    private readonly settings: DispatcherSettings,
    private readonly onError: (err: unknown, w: EndpointWakeup) => void,
  ) {}

  wake(wakeups: EndpointWakeup[]): void {
    for (const w of wakeups) {
      localDispatchWakeups.poke(w.endpointId);
      if (w.streaming) continue;
      const running = this.inFlight.get(w.endpointId);
      if (running) {
        running.again = true;
        continue;
      }
      void this.signal(w);
    }
  }

  /** Resolves when no signal is on its way (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await new Promise((r) => setTimeout(r, 10));
  }

  private async signal(w: EndpointWakeup): Promise<void> {
    const state = { again: false };
    this.inFlight.set(w.endpointId, state);
    try {
      do {
        state.again = false;
        try {
          await wakeDispatcher(await this.client(), this.settings, w);
        } catch (err) {
          this.onError(err, w);
          return;
        }
      } while (state.again);
    } finally {
      this.inFlight.delete(w.endpointId);
    }
  }
}

/**
 * In-process wakeups for a streaming delivery round running in this process: it waits for its next
 * poll or for a commit here, whichever comes first. Rounds in other processes poll.
 */
export class LocalWakeups {
  private readonly waiters = new Map<string, Set<() => void>>();

  poke(endpointId: string): void {
    const waiting = this.waiters.get(endpointId);
    if (!waiting) return;
    this.waiters.delete(endpointId);
    for (const wake of waiting) wake();
  }

  /** Resolves after `ms`, or earlier when the endpoint is poked. */
  wait(endpointId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiters.get(endpointId);
      if (!set) this.waiters.set(endpointId, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        set!.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }
}

export const localDispatchWakeups = new LocalWakeups();
