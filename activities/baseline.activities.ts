import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { bankFetch } from '../libs/adapters/bank-fetch';
import { readCappedBody } from '../libs/adapters/response-limits';

/** The benchmark probes' activities need a database and a bank only for the payment floor (bench/floor.bench.ts). */
export interface BaselineActivityDeps {
  floor?: {
    dataSource: DataSource;
    /** The Berlin Group sandbox bank's base URL: the floor calls it as a payment calls its bank. */
    bankUrl: string;
  };
}

/** A floor step's bank answer is read whole, as an adapter reads one (at most this many bytes). */
const FLOOR_BODY_LIMIT = 64 * 1024;

/** The table the floor writes to; bench/floor.bench.ts creates it in the bench database, nothing else does. */
export const FLOOR_TABLE = 'bench_floor_steps';

/** The benchmark baselines' activities: `noop` does nothing, so only Temporal's own cost is measured. */
export function createBaselineActivities(deps: BaselineActivityDeps = {}) {
  const send = bankFetch();

  /** One bank call as an adapter makes it: the whole answer read and parsed. */
  async function callBank(method: 'GET' | 'POST', path: string, body?: string): Promise<unknown> {
    const res = await send(`${deps.floor!.bankUrl}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-Request-ID': Context.current().info.activityId },
      body,
      redirect: 'manual',
    });
    const text = await readCappedBody(res, FLOOR_BODY_LIMIT);
    return text ? (JSON.parse(text) as unknown) : null;
  }

  async function write(workflowId: string, step: string, answer: unknown): Promise<void> {
    await deps.floor!.dataSource.query(`INSERT INTO ${FLOOR_TABLE} (workflow_id, step, answer) VALUES ($1, $2, $3)`, [workflowId, step, JSON.stringify(answer)]);
  }

  return {
    async noop(): Promise<void> {},

    /**
     * What one step of a decoupled payment cannot do without, and nothing more: the initiation
     * writes its attempt ahead of the bank call (exactly-once against a bank that does not
     * deduplicate), calls the bank and records the answer; a status read calls the bank and
     * records what it found. One single-row write per record where a payment writes its history
     * row, the payment, the authorisation and the outbox event: a floor, not a model. An account
     * read (`read`) calls the bank and writes the answer for the API to take, as an AIS read hands
     * a page over. With `work` false it does nothing (the floor's Temporal shape alone).
     */
    async floorStep(step: 'initiation' | 'sca' | 'status' | 'read', work: boolean): Promise<void> {
      if (!work) return;
      if (!deps.floor) throw ApplicationFailure.nonRetryable('floorStep needs the floor dependencies (bench/floor.bench.ts)', 'FloorNotConfigured');
      const { workflowId } = Context.current().info.workflowExecution!;
      if (step === 'initiation') {
        await write(workflowId, 'attempt', null);
        const answer = await callBank('POST', '/v1/payments/sepa-credit-transfers', FLOOR_PAYMENT_BODY);
        await write(workflowId, step, answer);
        return;
      }
      const path = step === 'read' ? `/v1/accounts/${encodeURIComponent(workflowId)}/transactions?bookingStatus=booked` : `/v1/payments/sepa-credit-transfers/${encodeURIComponent(workflowId)}/status`;
      await write(workflowId, step, await callBank('GET', path));
    },
  };
}

const FLOOR_PAYMENT_BODY = JSON.stringify({
  instructedAmount: { currency: 'EUR', amount: '123.45' },
  debtorAccount: { iban: 'DE89370400440532013000' },
  creditorName: 'Floor Creditor',
  creditorAccount: { iban: 'DE02120300000000202051' },
  remittanceInformationUnstructured: 'floor',
});

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
