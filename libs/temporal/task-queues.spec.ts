import { loadConfig } from '../config/config';
import { LONG_LIVED_WORKFLOW_TYPES, taskQueueFor } from './task-queues';
import * as workflows from '../../workflows';

describe('task queues', () => {
  it('starts consents, standing orders and mandates on the long-lived queue, everything else on the short-lived one', () => {
    const { temporal } = loadConfig({ NODE_ENV: 'test', TEMPORAL_TASK_QUEUE: 'q' });
    expect(temporal.longLivedTaskQueue).toBe('q-long-lived');
    for (const type of ['consentWorkflow', 'periodicPaymentWorkflow', 'mandateWorkflow']) expect(taskQueueFor(temporal, type)).toBe('q-long-lived');
    for (const type of ['paymentInitiationWorkflow', 'bulkPaymentWorkflow', 'batchWorkflow', 'openPaymentsTransferWorkflow', 'baselineWorkflow']) {
      expect(taskQueueFor(temporal, type)).toBe('q');
    }
  });

  it('names only workflow types the bundle exports', () => {
    for (const type of LONG_LIVED_WORKFLOW_TYPES) expect(typeof (workflows as Record<string, unknown>)[type]).toBe('function');
  });

  it('gives each queue its own cache: large for payments in flight, small for idle long-lived workflows', () => {
    const defaults = loadConfig({ NODE_ENV: 'test' }).temporal;
    expect(defaults.maxCachedWorkflows).toBe(400);
    expect(defaults.longLivedMaxCachedWorkflows).toBe(100);
    const set = loadConfig({ NODE_ENV: 'test', TEMPORAL_LONG_LIVED_TASK_QUEUE: 'idle', WORKER_MAX_CACHED_WORKFLOWS: '50', WORKER_LONG_LIVED_MAX_CACHED_WORKFLOWS: '7' }).temporal;
    expect(set).toMatchObject({ longLivedTaskQueue: 'idle', maxCachedWorkflows: 50, longLivedMaxCachedWorkflows: 7 });
  });
});
