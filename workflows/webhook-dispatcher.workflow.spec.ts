import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import pino from 'pino';
import { createWebhookActivities } from '../activities/webhook.activities';
import { createDataSource } from '../libs/persistence/data-source';
import { appendEvent } from '../libs/persistence/event-outbox';
import { WebhookRepository } from '../libs/persistence/webhook.repository';
import { SecretBox } from '../libs/security/secret-box';
import { KeyRing } from '../libs/security/key-ring';
import { WebhookEndpointHealth } from '../libs/temporal/search-attributes';
import { wakeDispatcher } from '../libs/webhooks/dispatchers';
import { genericEvent } from '../libs/webhooks/events';
import { sealEndpointSecret } from '../libs/webhooks/secrets';
import { newSigningSecret } from '../libs/webhooks/signing';
import { installQuietRuntime } from '../test/support/history-fixtures';
import { startTimeSkippingEnv } from '../test/support/time-skipping';
import { WEBHOOK_DISABLE_AFTER_MS, WEBHOOK_RETRY_DELAYS_MS, type webhookDispatcherWorkflow } from './webhook-dispatcher.workflow';
import { webhookDispatcherWorkflowId } from './webhook.api';
import { sharedWorkflowBundle } from '../test/support/workflow-bundle';

/**
 * The dispatcher on Temporal's time-skipping server with its real activities: PostgreSQL (this run's
 * test database) and HTTP to a receiver in this process. Days of retries pass in seconds; the
 * times asserted are the workflow's (skipped) clock, which the dispatcher records for each attempt.
 */
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

let env: TestWorkflowEnvironment;
let ds: DataSource;
let repo: WebhookRepository;
let bundle: WorkflowBundle;
let receiver: Server;
let receiverUrl: string;
let answer = 500;
const hits: { webhookId: string }[] = [];
const box = new SecretBox(new KeyRing('encryption', [{ id: 'spec', secret: 'webhook-dispatcher-spec-secret-0123456789' }]));
const taskQueue = `webhook-dispatcher-spec-${randomUUID()}`;

beforeAll(async () => {
  installQuietRuntime();
  env = await startTimeSkippingEnv();
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  repo = new WebhookRepository(ds);
  bundle = await sharedWorkflowBundle();
  receiver = createServer((req, res) => {
    hits.push({ webhookId: String(req.headers['webhook-id']) });
    req.resume();
    req.on('end', () => res.writeHead(answer).end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
}, 120_000);
afterAll(async () => {
  await env?.teardown();
  await ds?.destroy();
  await new Promise((r) => receiver?.close(r));
});

async function endpointWithOneEvent(tenantId = `tenant-${randomUUID()}`) {
  const id = randomUUID();
  await repo.createEndpoint({ id, tenantId, url: receiverUrl, description: null, eventTypes: null, secretSealed: sealEndpointSecret(box, id, newSigningSecret()) });
  await emit(tenantId);
  return { id, tenantId };
}

async function emit(tenantId: string): Promise<string> {
  const event = genericEvent({ type: 'consent.expiring', tenantId, subjectId: randomUUID(), dedupeKey: randomUUID(), data: { consentId: 'c', validUntil: '2027-01-01' } });
  await ds.transaction((em) => appendEvent(em, event));
  return event.id;
}

function runWorker<T>(fn: () => Promise<T>): Promise<T> {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities: createWebhookActivities({
      webhooks: repo,
      secrets: box,
      outboundPolicy: { allowHttp: true, allowLoopback: true },
      logger: pino({ level: 'silent' }),
      temporalClient: async () => env.client,
      webhookDispatch: { taskQueue },
    }),
  }).then((worker) => worker.runUntil(fn));
}

/** Wakes the endpoint's dispatcher as the outbox commit would, and waits for it to complete. */
function dispatchUntilDone(endpoint: { id: string; tenantId: string }) {
  return runWorker(async () => {
    await wakeDispatcher(env.client, { taskQueue }, { endpointId: endpoint.id, tenantId: endpoint.tenantId });
    return dispatcher(endpoint.id).result();
  });
}

function dispatcher(endpointId: string) {
  return env.client.workflow.getHandle<typeof webhookDispatcherWorkflow>(webhookDispatcherWorkflowId(endpointId));
}

async function attemptTimes(endpointId: string): Promise<number[]> {
  const rows: { at: Date }[] = await ds.query(
    `SELECT a.attempted_at AS at FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1 ORDER BY a.id`,
    [endpointId],
  );
  return rows.map((r) => new Date(r.at).getTime());
}

describe('webhookDispatcherWorkflow (time skipping)', () => {
  it('retries a failing delivery at once, then after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, then gives it up', async () => {
    answer = 500;
    hits.length = 0;
    const endpoint = await endpointWithOneEvent();
    const state = await dispatchUntilDone(endpoint);

    const times = await attemptTimes(endpoint.id);
    expect(times).toHaveLength(8);
    // Each retry at its delay after the previous attempt (plus the few milliseconds a round takes).
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(WEBHOOK_RETRY_DELAYS_MS[i]!);
      expect(gap).toBeLessThan(WEBHOOK_RETRY_DELAYS_MS[i]! + 2 * SECOND);
    });
    expect(WEBHOOK_RETRY_DELAYS_MS).toEqual([5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR]);
    expect((times.at(-1)! - times[0]!) / HOUR).toBeCloseTo(27.59, 1);
    // Eight real requests, all the same message: receivers can deduplicate by webhook-id.
    expect(hits).toHaveLength(8);
    expect(new Set(hits.map((h) => h.webhookId)).size).toBe(1);

    const [delivery] = (await repo.listDeliveries(endpoint.tenantId, endpoint.id, { limit: 10 })).map((r) => r.delivery);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 8, lastStatusCode: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    // 27.6 hours of failures is not yet 3 days: still enabled, marked failing.
    const stored = await repo.findEndpoint(endpoint.tenantId, endpoint.id);
    expect(stored).toMatchObject({ enabled: true, failingSince: new Date(times[0]!) });
    expect(state).toMatchObject({ health: 'failing', delivered: 0, failedAttempts: 8, gaveUp: 1 });
  }, 120_000);

  it('disables an endpoint whose every attempt failed for 3 days, stores why, and shows it in Temporal', async () => {
    answer = 500;
    const endpoint = await endpointWithOneEvent();
    const firstRun = await dispatchUntilDone(endpoint);
    expect(firstRun.health).toBe('failing');
    const firstFailure = (await attemptTimes(endpoint.id))[0]!;

    // A new event 67 hours after the first failure: its sixth attempt (about 74.6 h) carries the failures
    // past 3 days while the delivery still has retries left. (Its eighth, last attempt would be a give-up
    // as well as the disabling one.) The time-skipping server sometimes skips far ahead on its own once
    // the first run has completed (ten years, seen on this machine): then the first attempt disables. Either
    // way the delivery is still pending when the endpoint is disabled.
    const newEventAt = firstFailure + 67 * HOUR;
    const now = await env.currentTimeMs();
    if (now < newEventAt) await env.sleep(newEventAt - now);
    const eventId = await emit(endpoint.tenantId);
    const state = await dispatchUntilDone(endpoint);

    const stored = (await repo.findEndpoint(endpoint.tenantId, endpoint.id))!;
    expect(stored.enabled).toBe(false);
    expect(stored.disabledAt!.getTime() - firstFailure).toBeGreaterThanOrEqual(WEBHOOK_DISABLE_AFTER_MS);
    // Not a moment earlier than it had to be: the attempt before the disabling one was under 3 days.
    const times = await attemptTimes(endpoint.id);
    expect(times.at(-2)! - firstFailure).toBeLessThan(WEBHOOK_DISABLE_AFTER_MS);
    expect(stored.disabledReason).toContain(`every delivery attempt has failed since ${new Date(firstFailure).toISOString()}`);
    expect(stored.disabledReason).toContain(`HTTP 500 for event ${eventId} (consent.expiring)`);
    expect(state).toMatchObject({ health: 'disabled', disabledReason: stored.disabledReason });
    const described = await dispatcher(endpoint.id).describe();
    expect(described.typedSearchAttributes.get(WebhookEndpointHealth)).toBe('disabled');

    // Disabled means no more attempts: what is pending waits for the endpoint to be enabled again.
    const pending = (await repo.listDeliveries(endpoint.tenantId, endpoint.id, { limit: 10, status: 'pending' })).map((r) => r.delivery);
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ eventId, status: 'pending' });
    expect(pending[0]!.nextAttemptAt).not.toBeNull();
  }, 120_000);

  it('a healthy endpoint: delivered at the first attempt, then the dispatcher completes once idle', async () => {
    answer = 204;
    const endpoint = await endpointWithOneEvent();
    const state = await dispatchUntilDone(endpoint);
    expect(state).toMatchObject({ health: 'healthy', delivered: 1, failedAttempts: 0 });
    expect((await attemptTimes(endpoint.id)).length).toBe(1);
    expect((await repo.findEndpoint(endpoint.tenantId, endpoint.id))!.failingSince).toBeNull();
  }, 60_000);
});
