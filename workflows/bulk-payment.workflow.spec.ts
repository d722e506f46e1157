import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import { BatchId, TransactionStatus as TransactionStatusAttr } from '../libs/temporal/search-attributes';
import { stubBulkBank, type BulkBankScript } from '../test/support/bulk-activities-stub';
import { startQuietTimeSkippingEnvWithBundle } from '../test/support/time-skipping';
import {
  bulkInitiationResultUpdate,
  bulkPaymentStateQuery,
  bulkPaymentWorkflowId,
  cancelBulkPaymentUpdate,
  resolveBulkInitiationUpdate,
  startCancellationAuthorisationUpdate,
  type BulkPaymentWorkflowInput,
} from './bulk-payment.api';
import type { bulkPaymentWorkflow } from './bulk-payment.workflow';

/**
 * The bulk payment workflow on Temporal's time-skipping server, the bank stubbed at the activity
 * boundary (no transactions pass through the workflow: only statuses and counts).
 */
const MINUTE = 60_000;
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;

beforeAll(async () => {
  [env, bundle] = await startQuietTimeSkippingEnvWithBundle(require.resolve('./index'));
}, 120_000);
afterAll(() => env?.teardown());

async function run<T>(script: BulkBankScript, body: (ctx: { stub: ReturnType<typeof stubBulkBank>; input: BulkPaymentWorkflowInput; taskQueue: string }) => Promise<T>) {
  const stub = stubBulkBank(() => env.currentTimeMs(), script);
  const taskQueue = `bulk-${randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stub.activities });
  const input: BulkPaymentWorkflowInput = {
    tenantId: 'tenant-1',
    paymentId: randomUUID(),
    batchId: randomUUID(),
    timings: { scaPollInitialMs: 2_000, scaPollMaxMs: 30_000, statusPollInitialMs: 5_000, statusPollMaxMs: 60_000 },
  };
  return worker.runUntil(() => body({ stub, input, taskQueue }));
}

function startLikeTheApi(input: BulkPaymentWorkflowInput, taskQueue: string) {
  return env.client.workflow.executeUpdateWithStart(bulkInitiationResultUpdate, {
    startWorkflowOperation: new WithStartWorkflowOperation<typeof bulkPaymentWorkflow>('bulkPaymentWorkflow', {
      workflowId: bulkPaymentWorkflowId(input.paymentId),
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: TransactionStatusAttr, value: 'RCVD' }],
    }),
  });
}

test('partial acceptance: one SCA, ACSP, then PATC once every transaction is final; BatchId on the workflow', async () => {
  await run(
    {
      poll: (n) =>
        n === 0
          ? { transactionStatus: 'ACSP', rawTransactionStatus: 'ACSP', perTransaction: true, allTransactionsFinal: false, counts: { ACSP: 3, RJCT: 1 } }
          : n === 1
            ? // The bank says PATC before it finished every transaction: keep polling.
              { transactionStatus: 'PATC', rawTransactionStatus: 'PATC', perTransaction: true, allTransactionsFinal: false, counts: { ACSP: 1, ACSC: 2, RJCT: 1 } }
            : { transactionStatus: 'PATC', rawTransactionStatus: 'PATC', perTransaction: true, allTransactionsFinal: true, counts: { ACSC: 3, RJCT: 1 } },
    },
    async ({ stub, input, taskQueue }) => {
      const answer = await startLikeTheApi(input, taskQueue);
      expect(answer).toMatchObject({ bankPaymentId: 'bank-bulk-1', scaApproach: 'DECOUPLED', authorisationId: 'auth-1' });
      const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId));
      const final = await handle.result();
      expect(final).toMatchObject({ phase: 'completed', transactionStatus: 'PATC', allTransactionsFinal: true, counts: { ACSC: 3, RJCT: 1 }, numberOfTransactions: 4 });
      expect(stub.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACSP', 'transaction_status:PATC']);
      // Per-transaction statuses came from the bank: the bulk status is not stamped on open ones.
      expect(stub.recorded.filter((c) => c.kind === 'transaction_status').map((c) => c.applyToOpenTransactions)).toEqual([false, false]);
      expect(stub.count('getBankBulkScaStatus')).toBe(1);
      expect(stub.count('pollBulkPaymentStatusAtBank')).toBe(3);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(BatchId)).toBe(input.batchId);
      expect(described.typedSearchAttributes.get(TransactionStatusAttr)).toBe('PATC');
      // The operator's view in the Temporal UI: progress counts.
      const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
      expect(metadata.currentDetails).toContain('**Bulk payment** · 4 transactions · PATC');
      expect(metadata.currentDetails).toContain('| ACSC | 3 |');
      // History carries ids, statuses and counts only.
      const history = JSON.stringify(await handle.fetchHistory());
      expect(history).not.toMatch(/IBAN|iban|creditorName/);
    },
  );
});

test('SCA timeout on a bulk: the PSU never decides; cancelled at the bank after the timeout, RJCT for every open transaction', async () => {
  await run({ scaStatus: () => 'started', scaTimeoutMs: 15 * MINUTE }, async ({ stub, input, taskQueue }) => {
    await startLikeTheApi(input, taskQueue);
    const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId));
    const final = await handle.result();
    expect(final).toMatchObject({ transactionStatus: 'RJCT', statusReason: expect.stringContaining('SCA timeout'), counts: { RJCT: 4 }, allTransactionsFinal: true });
    const cancel = stub.callsTo('cancelBulkPaymentAtBank')[0]!;
    const started = stub.callsTo('initiateBulkPaymentAtBank')[0]!;
    expect(cancel.at - started.at).toBeGreaterThanOrEqual(15 * MINUTE);
    expect(cancel.at - started.at).toBeLessThan(16 * MINUTE);
    expect(stub.recorded.at(-1)).toMatchObject({ status: 'RJCT', rawStatus: 'CANC', applyToOpenTransactions: true });
    expect(stub.count('pollBulkPaymentStatusAtBank')).toBe(0);
  });
});

test('SCA timeout, but the bank does not confirm the cancellation: followed until the bank reports a final status', async () => {
  await run(
    {
      scaStatus: () => 'started',
      scaTimeoutMs: 5 * MINUTE,
      cancel: () => {
        throw ApplicationFailure.create({ type: 'BankRejected', message: 'HTTP 405 CANCELLATION_INVALID', nonRetryable: true });
      },
      poll: (n) =>
        n === 0
          ? { transactionStatus: 'ACSP', rawTransactionStatus: 'ACSP', perTransaction: false, allTransactionsFinal: false }
          : { transactionStatus: 'ACSC', rawTransactionStatus: 'ACSC', perTransaction: false, allTransactionsFinal: false },
    },
    async ({ input, taskQueue }) => {
      await startLikeTheApi(input, taskQueue);
      const final = await env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId)).result();
      // The bank spoke for the bulk as a whole: its final status reached every open transaction.
      expect(final).toMatchObject({ transactionStatus: 'ACSC', counts: { ACSC: 4 } });
    },
  );
});

test('the bank refuses the bulk: the initiation update fails with its messages; RJCT', async () => {
  const refusal = ApplicationFailure.create({
    type: 'BankRejected',
    message: 'HTTP 400',
    nonRetryable: true,
    details: [{ httpStatus: 400, messages: [{ category: 'ERROR', code: 'SERVICE_INVALID', text: 'no bulk' }] }],
  });
  await run(
    {
      initiate: () => {
        throw refusal;
      },
    },
    async ({ stub, input, taskQueue }) => {
      const err = await startLikeTheApi(input, taskQueue).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).details?.[0]).toMatchObject({ httpStatus: 400, messages: [{ code: 'SERVICE_INVALID' }] });
      const final = await env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId)).result();
      expect(final.transactionStatus).toBe('RJCT');
      expect(stub.count('initiateBulkPaymentAtBank')).toBe(1);
    },
  );
});

test('a lost answer is never sent again: outcome unknown until an operator decides, then followed', async () => {
  await run(
    { initiate: () => ({ outcome: 'ambiguous', reason: 'POST /v1/bulk-payments → HTTP 503', lastAttempt: 1, facts: { scaExemptionsPossible: true, bankMayPromptPsu: false } }) },
    async ({ stub, input, taskQueue }) => {
      const answer = await startLikeTheApi(input, taskQueue);
      expect(answer).toMatchObject({ outcome: 'unknown' });
      const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId));
      expect((await handle.query(bulkPaymentStateQuery)).phase).toBe('outcome_unknown');
      await expect(handle.executeUpdate(resolveBulkInitiationUpdate, { args: [{ operator: 'ops:x', decision: 'initiated', bankPaymentId: 'nope', reason: 'bank said so' }] })).rejects.toThrow();
      await handle.executeUpdate(resolveBulkInitiationUpdate, { args: [{ operator: 'ops:x', decision: 'initiated', bankPaymentId: 'bank-bulk-1', reason: 'bank support confirmed it' }] });
      const final = await handle.result();
      expect(final.transactionStatus).toBe('ACSC');
      // Exactly one initiation attempt reached the stubbed bank.
      expect(stub.count('initiateBulkPaymentAtBank')).toBe(1);
      expect(stub.count('adoptBankBulkPayment')).toBe(1);
    },
  );
});

test('cancellation while awaiting SCA: CANC for every transaction', async () => {
  await run({ scaStatus: () => 'started' }, async ({ input, taskQueue }) => {
    await startLikeTheApi(input, taskQueue);
    const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId));
    const result = await handle.executeUpdate(cancelBulkPaymentUpdate);
    expect(result).toEqual({ transactionStatus: 'CANC', authorisationRequired: false });
    expect(await handle.result()).toMatchObject({ transactionStatus: 'CANC', counts: { CANC: 4 } });
  });
});

test('cancellation with authorisation: an authorised bulk waiting for its date, DELETE → 202, the PSU authorises the cancellation; its SCA is followed until the bank reports CANC', async () => {
  let approved = false;
  await run(
    {
      poll: () =>
        approved
          ? { transactionStatus: 'CANC', rawTransactionStatus: 'CANC', perTransaction: true, allTransactionsFinal: true, counts: { CANC: 4 } }
          : { transactionStatus: 'ACCP', rawTransactionStatus: 'ACCP', perTransaction: true, allTransactionsFinal: false, counts: { ACCP: 4 } },
      cancel: () => ({ transactionStatus: 'ACCP', authorisationRequired: true }),
      cancellationScaStatus: (n) => {
        if (n < 2) return 'started';
        approved = true;
        return 'finalised';
      },
    },
    async ({ stub, input, taskQueue }) => {
      await startLikeTheApi(input, taskQueue);
      const handle = env.client.workflow.getHandle(bulkPaymentWorkflowId(input.paymentId));
      await env.sleep(MINUTE);
      expect(await handle.query(bulkPaymentStateQuery)).toMatchObject({ phase: 'polling_status', transactionStatus: 'ACCP' });
      // Nothing to authorise before the bank asked for it.
      await expect(handle.executeUpdate(startCancellationAuthorisationUpdate)).rejects.toThrow(WorkflowUpdateFailedError);
      expect(await handle.executeUpdate(cancelBulkPaymentUpdate)).toEqual({ transactionStatus: 'ACCP', authorisationRequired: true });
      const started = await handle.executeUpdate(startCancellationAuthorisationUpdate);
      expect(started).toMatchObject({ authorisationId: 'cancel-1', scaStatus: 'started', scaApproach: 'DECOUPLED' });
      const final = await handle.result();
      expect(final).toMatchObject({
        phase: 'completed',
        transactionStatus: 'CANC',
        counts: { CANC: 4 },
        statusReason: 'Cancelled by the TPP, authorised by the PSU',
        cancellation: { cancellationId: 'cancel-1', scaStatus: 'finalised' },
      });
      expect(stub.count('getBulkCancellationScaStatusAtBank')).toBe(3);
      expect(stub.timeline()).toEqual(['sca_status:finalised', 'transaction_status:ACCP', 'transaction_status:CANC']);
      // Followed at the SCA pace (30 s at most between looks), not the status poll's backoff.
      const looks = stub.callsTo('getBulkCancellationScaStatusAtBank').map((c) => c.at);
      expect(looks[2]! - looks[0]!).toBeLessThanOrEqual(2 * 30_000 + 1_000);
    },
  );
});
