import { randomUUID } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import type { BankAdapter } from '../libs/adapters/bank-adapter';
import { createDataSource } from '../libs/persistence/data-source';
import { ConsentRepository } from '../libs/persistence/consent.repository';
import type { DirectoryRepository } from '../libs/persistence/directory.repository';
import type { AspspEntity } from '../libs/persistence/entities/aspsp.entity';
import { HandoffRepository } from '../libs/persistence/handoff.repository';
import type { InitiationAttemptRepository } from '../libs/persistence/initiation-attempt.repository';
import { HANDOFF_PURPOSES } from '../libs/security/handoff-purposes';
import { HmacSigner } from '../libs/security/hmac-signer';
import { KeyRing } from '../libs/security/key-ring';
import { SecretBox } from '../libs/security/secret-box';
import { SensitiveHandoffs } from '../libs/security/sensitive-handoffs';
import { createApiClient } from '../test/support/factories';
import { createConsentActivities } from './consent.activities';

/**
 * `readAccountData` against real PostgreSQL (this run's test database), the bank a stub that counts.
 * The consent workflow runs reads as local activities, which run again when their workflow task is
 * lost before it completes: a read carrying the update's id (`readId`) must then hand back the
 * answer it stored, not read at the bank again (the bank counts unattended reads).
 */
let ds: DataSource;
let consents: ConsentRepository;
let handoffs: SensitiveHandoffs;
const box = new SecretBox(new KeyRing('encryption', [{ id: 'spec', secret: 'consent-read-spec-secret-0123456789abcdef' }]));
const bankReads: { psuIpAddress?: string }[] = [];

const BIC = 'SANDDEB0XXX';
const aspsp = { bicFi: BIC, protocol: 'berlin-group', apiBaseUrl: 'https://bank.example', timeoutMs: 1_000 } as unknown as AspspEntity;
const bank = {
  createConsent: async () => {
    throw new Error('not in this test');
  },
  getBalances: async (_conn: unknown, ref: { psu?: { psuIpAddress?: string } }) => {
    bankReads.push({ psuIpAddress: ref.psu?.psuIpAddress });
    return { balances: [{ balanceType: 'closingBooked', balanceAmount: { currency: 'EUR', amount: String(bankReads.length) } }] };
  },
} as unknown as BankAdapter;

beforeAll(async () => {
  ds = await createDataSource({ url: process.env.CLEARWAY_TEST_DATABASE_URL!, poolSize: 3 }).initialize();
  consents = new ConsentRepository(ds);
  handoffs = new SensitiveHandoffs(new HandoffRepository(ds), box);
});
afterAll(async () => {
  await ds?.destroy();
});

const activities = () =>
  createConsentActivities({
    consents,
    directory: { findAspsp: async () => aspsp } as unknown as DirectoryRepository,
    initiationAttempts: {} as InitiationAttemptRepository,
    adapterFor: () => bank,
    sandboxUrls: { 'berlin-group': 'https://sandbox.example', 'uk-obie': 'https://sandbox.example' },
    publicBaseUrl: 'https://clearway.example',
    callbackSigner: new HmacSigner(new KeyRing('hmac', [{ id: 'spec', secret: 'consent-read-spec-hmac-0123456789abcdef' }])),
    handoffs,
    logger: pino({ level: 'silent' }),
  });

async function validConsent() {
  const client = await createApiClient(ds);
  const { consent } = await consents.insertOrGetExisting({
    id: randomUUID(), tenantId: client.tenantId, clientId: client.clientId, requestId: randomUUID(), requestHash: 'x'.repeat(64), bicFi: BIC,
    access: { allPsd2: 'allAccounts' }, recurringIndicator: true, requestedValidUntil: '9999-12-31', frequencyPerDay: 4, combinedServiceIndicator: false,
    psuId: null, psuIpAddress: null, clientRedirectUri: null, clientNokRedirectUri: null,
  });
  await ds.query(`UPDATE consents SET bank_consent_id = 'bank-consent-1' WHERE id = $1`, [consent.id]);
  return consent;
}

const run = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => new MockActivityEnvironment({ isLocal: true }).run(fn, ...args);

test('a read run again for the same update hands back its stored answer; the bank and the PSU hand-off are used once', async () => {
  const consent = await validConsent();
  const { readAccountData } = activities();
  const handoffId = await handoffs.seal(consent.tenantId, HANDOFF_PURPOSES.psuContext, JSON.stringify({ psuIpAddress: '192.0.2.10' }));
  const req = { endpoint: 'balances' as const, accountId: 'acc-1', psuContextHandoffId: handoffId, readId: randomUUID() };
  bankReads.length = 0;

  const first = await run(readAccountData, consent.id, req);
  // The workflow task that ran it was lost: the same read again (its hand-off is gone by now).
  const again = await run(readAccountData, consent.id, req);

  expect(again).toEqual(first);
  expect(bankReads).toEqual([{ psuIpAddress: '192.0.2.10' }]);
  expect(await consents.takeReadResult(consent.tenantId, first.resultId)).toMatchObject({ balances: [{ balanceAmount: { amount: '1' } }] });
});

test('different updates read at the bank each; reads without a readId (activities) each get a fresh result', async () => {
  const consent = await validConsent();
  const { readAccountData } = activities();
  bankReads.length = 0;

  const a = await run(readAccountData, consent.id, { endpoint: 'balances', accountId: 'acc-1', readId: randomUUID() });
  const b = await run(readAccountData, consent.id, { endpoint: 'balances', accountId: 'acc-1', readId: randomUUID() });
  const c = await run(readAccountData, consent.id, { endpoint: 'balances', accountId: 'acc-1' });
  const d = await run(readAccountData, consent.id, { endpoint: 'balances', accountId: 'acc-1' });

  expect(new Set([a.resultId, b.resultId, c.resultId, d.resultId]).size).toBe(4);
  expect(bankReads).toHaveLength(4);
});

test('the same update id on another consent is another read', async () => {
  const [one, two] = [await validConsent(), await validConsent()];
  const { readAccountData } = activities();
  const readId = randomUUID();
  bankReads.length = 0;

  const a = await run(readAccountData, one.id, { endpoint: 'balances', accountId: 'acc-1', readId });
  const b = await run(readAccountData, two.id, { endpoint: 'balances', accountId: 'acc-1', readId });

  expect(a.resultId).not.toBe(b.resultId);
  expect(bankReads).toHaveLength(2);
  expect(await consents.takeReadResult(two.tenantId, a.resultId)).toBeNull();
});

test('storing a read purges the answers nobody took in time, in the same statement; an answer already stored under its id is kept', async () => {
  const consent = await validConsent();
  const base = { tenantId: consent.tenantId, consentId: consent.id, ttlMs: 60_000 };
  const [stale, fresh, next] = [randomUUID(), randomUUID(), randomUUID()];
  const t0 = new Date('2026-12-02T12:00:00Z');
  await consents.storeReadResult({ ...base, id: stale, body: { n: 'stale' } }, t0);
  await consents.storeReadResult({ ...base, id: fresh, body: { n: 'fresh' }, ttlMs: 10 * 60_000 }, t0);
  // The same id again (a read run again): the first answer stays.
  await consents.storeReadResult({ ...base, id: fresh, body: { n: 'other' } }, t0);

  // Two minutes later the first has expired: the next read's store removes it.
  await consents.storeReadResult({ ...base, id: next, body: { n: 'next', transactions: { booked: [{ amount: '1.10' }] } } }, new Date(t0.getTime() + 120_000));

  const stored = async (id: string) => (await ds.query('SELECT body FROM ais_read_results WHERE id = $1', [id])) as { body: unknown }[];
  expect(await stored(stale)).toEqual([]);
  expect(await stored(fresh)).toEqual([{ body: { n: 'fresh' } }]);
  expect(await consents.takeReadResult(consent.tenantId, next)).toEqual({ n: 'next', transactions: { booked: [{ amount: '1.10' }] } });
});
