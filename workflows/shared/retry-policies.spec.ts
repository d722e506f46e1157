import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { failure, FailureType, NON_RETRYABLE_FAILURES, RETRY, retryPolicy } from './retry-policies';

const WORKFLOWS_DIR = path.resolve(__dirname, '..');
const workflowFiles = readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.workflow.ts'));

describe('shared failure types and retry policies', () => {
  it('every preset and every custom policy refuses to retry the same failures', () => {
    for (const policy of [...Object.values(RETRY), retryPolicy({ initialInterval: '1s' })]) {
      expect(policy.nonRetryableErrorTypes).toEqual(expect.arrayContaining([...NON_RETRYABLE_FAILURES]));
    }
    expect(retryPolicy({}, [FailureType.BankRateLimited]).nonRetryableErrorTypes).toContain('BankRateLimited');
  });

  it.each([
    FailureType.BankRejected,
    FailureType.HandoffExpired,
    FailureType.PaymentNotFound,
    FailureType.ConsentNotFound,
    FailureType.TransferRefused,
    FailureType.MandateNotFound,
  ])('%s is non-retryable', (type) => {
    expect(NON_RETRYABLE_FAILURES).toContain(type);
    expect(failure(type, 'x').nonRetryable).toBe(true);
  });

  it.each([FailureType.BankUnavailable, FailureType.BankRateLimited, FailureType.BankProtocolError])('%s is retried', (type) => {
    expect(NON_RETRYABLE_FAILURES).not.toContain(type);
    expect(failure(type, 'x', { nextRetryDelay: 2000 })).toMatchObject({ type, nonRetryable: false, nextRetryDelay: 2000 });
  });

  it.each(workflowFiles)('%s declares its retry policies through this module only', (file) => {
    const source = readFileSync(path.join(WORKFLOWS_DIR, file), 'utf8');
    expect(source).toMatch(/from '\.\/shared\/retry-policies'/);
    expect(source).not.toMatch(/nonRetryableErrorTypes/);
    const retries = [...source.matchAll(/\bretry:\s*([^,\n]+)/g)].map((m) => m[1]!.trim());
    expect(retries.length).toBeGreaterThan(0);
    for (const retry of retries) expect(retry).toMatch(/^(RETRY\.\w+|retryPolicy\()/);
  });
});
