import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConsentActivities } from '../activities/consent.activities';
import { FINAL_CONSENT_STATUSES, type BankConsentStatus } from '../libs/domain/consent';
import { bankRefusalKind, type BankRefusalKind } from '../libs/domain/bank-refusal';
import type { BankScaStatus, ScaStatus } from '../libs/domain/transaction-status';
import { ConsentStatus as ConsentStatusAttr, ScaStatus as ScaStatusAttr } from '../libs/temporal/search-attributes';
import {
  consentCreationUpdate,
  consentScaCallbackSignal,
  consentStateQuery,
  readAccountDataUpdate,
  startConsentAuthorisationUpdate,
  terminateConsentUpdate,
  updateConsentPsuDataUpdate,
  type AccountReadRequest,
  type BankRefusal,
  type ConsentCreationSummary,
  type ConsentRefusal,
  type ConsentWorkflowInput,
  type ConsentWorkflowState,
  type PsuDataUpdateRequest,
} from './consent.api';
import { findApplicationFailure, readOrUndefined } from './shared/failures';
import { RETRY, retryPolicy } from './shared/retry-policies';
import { createWithoutDuplicates, type CreationOutcome } from './shared/create-once';
import { ScaWait } from './shared/sca-wait';
import { activitySummary, phrases } from './shared/ui-metadata';
import { STATUS_VIEW_DESCRIPTION, statusViewQuery } from './shared/status-view';
import type { OAuthAuthorisationActivities } from '../activities/oauth-authorisation.activities';
import { completeOAuthAuthorisationSignal, PATCH_OAUTH_AUTHORISATION } from './shared/oauth-authorisation';

const DAY_MS = 24 * 3600_000;

/** Creating the consent at the bank: safe to retry (idempotency key from the consent id). */
const creation = proxyActivities<ConsentActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '5m',
  retry: RETRY.bankStep,
});

/** Commands a client is waiting for (authorisation steps, termination). */
const commands = proxyActivities<ConsentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankCommand,
});

/**
 * Account reads: the client is waiting and a 429 from the bank is an answer, not a fault, so it is
 * not retried here.
 */
const accountReads = proxyActivities<ConsentActivities>({ startToCloseTimeout: '15s', retry: RETRY.accountRead });
/**
 * The same reads as local activities (`patched(PATCH_LOCAL_ACCOUNT_READS)`): the client waits on
 * the update, and a read is an idempotent GET whose result goes to the API through PostgreSQL, so it
 * runs in the workflow task that accepted the update: no activity task, no second workflow task,
 * one marker in the history instead of six events (consents live for months). A local activity
 * runs again when its workflow task is lost before completing (e.g. refused because updates arrived
 * while it continued as new): the read carries the update's id, and the activity then hands back
 * the answer it stored the first time instead of reading at the bank again (the bank counts
 * unattended reads against the consent's frequencyPerDay).
 */
const localAccountReads = proxyLocalActivities<ConsentActivities>({ startToCloseTimeout: '15s', retry: RETRY.accountRead });
const PATCH_LOCAL_ACCOUNT_READS = 'consent-local-account-reads';

/**
 * Learning what the bank granted once SCA is done: the consent cannot go live without it, so it is
 * retried until the bank answers (a refusal is final).
 */
const grantReads = proxyActivities<ConsentActivities>({
  startToCloseTimeout: '15s',
  retry: retryPolicy({ initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' }),
});

/** Status checks inside loops that will check again. */
const statusReads = proxyActivities<ConsentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankRead,
});

const records = proxyActivities<ConsentActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.ownDatabase,
});

/** Redeeming an OAuth/OIDC authorisation code: the PSU is waiting on the redirect, so fail fast like commands. */
const oauth = proxyActivities<OAuthAuthorisationActivities>({
  startToCloseTimeout: '15s',
  retry: RETRY.bankCommand,
});


/**
 * One account-information consent, for its whole life: create at the bank → SCA → valid, then
 * serve reads (enforcing frequencyPerDay for reads without the PSU) until it expires (a durable
 * timer at validUntil), the PSU revokes it (seen by a periodic check or a refused read) or the
 * TPP terminates it. History stays bounded with continue-as-new; account data never enters it.
 */
export async function consentWorkflow(input: ConsentWorkflowInput): Promise<ConsentWorkflowState> {
  const { consentId, timings, grants } = input;
  const state: ConsentWorkflowState = input.resume ?? {
    phase: 'creating',
    status: 'received',
    frequencyPerDay: input.frequencyPerDay,
    unattendedReads: {},
    expiringNoticeSent: false,
    eventSeq: 0,
    reads: 0,
  };
  const sca = new ScaWait();
  let statusCheckRequested = false;
  let terminating = false;

  setHandler(consentStateQuery, () => state);

  /** The Temporal UI's current details: the live phase in words (never PII). */
  let details = '';
  const show = () => {
    details = describePhase();
    setCurrentDetails(details);
  };
  const label = (what: string, attempt?: number) => ({ summary: activitySummary(what, { attempt }) });
  const atBank = (what: string) => ({ summary: activitySummary(what, { at: input.bicFi }) });
  setHandler(
    statusViewQuery,
    () => ({
      resource: 'consent',
      id: consentId,
      phase: state.phase,
      details,
      api: { consentStatus: state.status, scaStatus: state.scaStatus, statusReason: state.statusReason },
      href: `/psd2/consent/v1/consents/${consentId}`,
    }),
    { description: STATUS_VIEW_DESCRIPTION },
  );
  show();

  function describePhase(): string {
    switch (state.phase) {
      case 'creating':
        return phrases.text(`Creating the consent at ${input.bicFi}`);
      case 'awaiting_sca':
        return phrases.waitingForSca({
          sinceMs: state.scaDeadline! - timings.scaTimeoutMs,
          timesOutAtMs: state.scaDeadline!,
          approach: state.creation?.scaApproach,
        });
      case 'active': {
        const used = Math.max(0, ...Object.keys(state.unattendedReads).map((k) => recentReads(k).length));
        return phrases.consentValid({
          validUntil: state.validUntilMs !== undefined ? new Date(state.validUntilMs - DAY_MS).toISOString() : 'unknown',
          readsUsed: used,
          readsPerDay: state.frequencyPerDay,
        }) + (state.nextStatusCheckAt !== undefined ? `\nNext status check at the bank: ${new Date(state.nextStatusCheckAt).toISOString().slice(0, 16).replace('T', ' ')} UTC` : '');
      }
      case 'ended':
        return phrases.final(state.status, state.statusReason);
    }
  }

  setHandler(consentCreationUpdate, async () => {
    await condition(() => state.creation !== undefined || state.creationError !== undefined);
    if (state.creationError) throw refusal('bank_refused', 'The bank refused the consent', state.creationError);
    return state.creation!;
  });

  setHandler(consentScaCallbackSignal, () => sca.wakeUp());

  /** OAuth/OIDC SCA: hand-off ids of the PSU's answers (code or error), redeemed by the SCA wait. */
  const oauthReturns = () => (state.oauthReturns ??= []);
  setHandler(completeOAuthAuthorisationSignal, ({ handoffId }) => {
    if (state.phase !== 'awaiting_sca' || typeof handoffId !== 'string') return;
    oauthReturns().push(handoffId);
    sca.wakeUp();
  });

  setHandler(
    terminateConsentUpdate,
    async () => {
      terminating = true;
      try {
        await commands.deleteConsentAtBank.executeWithOptions(atBank('Delete (TPP request)'), [consentId]);
      } catch (err) {
        terminating = false;
        throw bankRefusal(err);
      }
      await transition({ raw: 'terminatedByTpp', normalised: 'terminatedByTpp' }, 'Terminated by the TPP');
      return { consentStatus: state.status };
    },
    {
      validator: () => {
        if (FINAL_CONSENT_STATUSES.has(state.status)) throw refusal('wrong_state', `The consent is already ${state.status}`);
        if (terminating) throw refusal('wrong_state', 'The consent is already being terminated');
        if (state.phase === 'creating') throw refusal('wrong_state', 'The consent is still being created at the bank');
      },
    },
  );

  setHandler(
    startConsentAuthorisationUpdate,
    async () => {
      try {
        const started = await commands.startConsentAuthorisationAtBank.executeWithOptions(atBank('Start an authorisation'), [consentId]);
        state.authorisationId = started.authorisationId;
        sca.wakeUp();
        return started;
      } catch (err) {
        throw bankRefusal(err);
      }
    },
    { validator: () => requireAwaitingSca() },
  );

  setHandler(
    updateConsentPsuDataUpdate,
    async (req) => {
      try {
        const result = await commands.updateConsentPsuDataAtBank.executeWithOptions(atBank('Update PSU data'), [consentId, req]);
        state.authorisationId = req.authorisationId;
        await recordSca({ raw: result.scaStatus, normalised: result.scaStatus });
        sca.wakeUp();
        return result;
      } catch (err) {
        throw bankRefusal(err);
      }
    },
    { validator: (_req: PsuDataUpdateRequest) => requireAwaitingSca() },
  );

  setHandler(
    readAccountDataUpdate,
    async (req) => {
      refuseUnlessReadable(req);
      const key = accessKey(req);
      // Reserve the slot now: concurrent reads must not all pass the same count.
      const counted = isUnattended(req);
      const at = Date.now();
      if (counted) state.unattendedReads[key] = [...recentReads(key), at];
      try {
        const summary = { summary: activitySummary(`Read ${req.endpoint}${counted ? ' (unattended)' : ''}`, { at: input.bicFi }) };
        const result = patched(PATCH_LOCAL_ACCOUNT_READS)
          ? await localAccountReads.readAccountData.executeWithOptions(summary, [consentId, { ...req, readId: currentUpdateInfo()?.id }])
          : await accountReads.readAccountData.executeWithOptions(summary, [consentId, req]);
        state.reads += 1;
        if (state.phase === 'active') show();
        return result;
      } catch (err) {
        if (counted) releaseSlot(key, at);
        const failure = bankRefusal(err);
        if (failure.type === 'consent_invalid' || failure.type === 'consent_expired') statusCheckRequested = true;
        throw failure;
      }
    },
    { validator: refuseUnlessReadable },
  );

  function requireAwaitingSca(): void {
    if (state.phase !== 'awaiting_sca') throw refusal('wrong_state', `The consent is ${state.status}, not awaiting authorisation`);
  }

  function refuseUnlessReadable(req: AccountReadRequest): void {
    if (state.status === 'expired' || (state.validUntilMs !== undefined && Date.now() >= state.validUntilMs)) {
      throw refusal('consent_expired', 'The consent has expired');
    }
    if (state.status !== 'valid') throw refusal('consent_invalid', `The consent is ${state.status}`);
    const granted =
      req.endpoint === 'accounts' || req.endpoint === 'account'
        ? grants.accounts || grants.balances || grants.transactions
        : req.endpoint === 'balances'
          ? grants.balances
          : grants.transactions;
    if (!granted) throw refusal('service_not_granted', `The consent does not grant access to ${req.endpoint}`);
    if (isUnattended(req) && recentReads(accessKey(req)).length >= state.frequencyPerDay) {
      throw refusal(
        'access_exceeded',
        `frequencyPerDay (${state.frequencyPerDay}) reached for ${req.endpoint}${req.accountId ? ` of account ${req.accountId}` : ''} in the last 24 hours`,
      );
    }
  }

  /** Reads without the PSU count; so does only the first page of a transaction listing. */
  function isUnattended(req: AccountReadRequest): boolean {
    return !req.psuContextHandoffId && !req.query?.page;
  }

  function accessKey(req: AccountReadRequest): string {
    const endpoint = req.endpoint === 'transaction' ? 'transactions' : req.endpoint;
    return `${req.accountId ?? '*'}|${endpoint}`;
  }

  function recentReads(key: string): number[] {
    const since = Date.now() - DAY_MS;
    return (state.unattendedReads[key] ?? []).filter((t) => t > since);
  }

  /** Gives back the slot a failed read reserved (one entry: two reads may share a timestamp). */
  function releaseSlot(key: string, at: number): void {
    const log = state.unattendedReads[key] ?? [];
    const i = log.lastIndexOf(at);
    if (i >= 0) log.splice(i, 1);
  }

  function pruneReadLog(): void {
    for (const key of Object.keys(state.unattendedReads)) {
      const recent = recentReads(key);
      if (recent.length) state.unattendedReads[key] = recent;
      else delete state.unattendedReads[key];
    }
  }

  async function transition(status: BankConsentStatus, reason?: string): Promise<void> {
    const seq = state.eventSeq++;
    state.status = status.normalised;
    state.statusReason = reason;
    if (FINAL_CONSENT_STATUSES.has(status.normalised)) state.phase = 'ended';
    upsertSearchAttributes([{ key: ConsentStatusAttr, value: status.normalised }]);
    show();
    await records.recordConsentStatus.executeWithOptions(label(`Record status ${status.normalised}`), [
      { consentId, seq, kind: 'consent_status', status: status.normalised, rawStatus: status.raw, reason: reason ?? null },
    ]);
  }

  async function recordSca(status: BankScaStatus): Promise<void> {
    if (status.normalised === state.scaStatus) return;
    const seq = state.eventSeq++;
    state.scaStatus = status.normalised;
    upsertSearchAttributes([{ key: ScaStatusAttr, value: status.normalised }]);
    await records.recordConsentStatus.executeWithOptions(label(`Record SCA status ${status.normalised}`), [{
      consentId,
      seq,
      kind: 'sca_status',
      status: status.normalised,
      rawStatus: status.raw,
      authorisationId: state.authorisationId,
    }]);
  }

  function continueAsNewDue(): boolean {
    const info = workflowInfo();
    return info.continueAsNewSuggested || info.historyLength >= timings.maxHistoryEvents;
  }

  async function continueAsNewIfDue(): Promise<void> {
    if (!continueAsNewDue()) return;
    await condition(allHandlersFinished);
    pruneReadLog();
    await continueAsNew<typeof consentWorkflow>({ ...input, resume: state });
  }

  /**
   * Creates the consent at the bank. The bank does not deduplicate, so after an attempt that may
   * have reached it a new one is sent only where a duplicate stays harmless: unauthorised, because
   * the PSU only ever sees the authorisation Clearway hands out (no decoupled prompt by the bank).
   */
  async function create(): Promise<void> {
    let outcome: CreationOutcome<ConsentCreationSummary>;
    try {
      outcome = await createWithoutDuplicates('Consent creation', (opts) =>
        creation.createConsentAtBank.executeWithOptions(
          { summary: activitySummary(opts.createAgainAfterAttempt === undefined ? 'Create consent' : 'Create consent again', { at: input.bicFi }) },
          [consentId, opts],
        ),
      );
    } catch (err) {
      const failure = findApplicationFailure(err);
      const details = failure?.details?.[0] as Partial<BankRefusal> | undefined;
      return refuseCreation(details?.httpStatus ?? 502, details?.messages ?? [], failure?.message ?? 'unknown error');
    }
    if (outcome.kind === 'ambiguous') {
      return refuseCreation(502, [], `the bank's answer was lost (${outcome.reason}); no second consent was requested, as the PSU could be asked to authorise both`);
    }
    // Creating again may have left an unauthorised consent at the bank: delete the ones it named.
    if (outcome.createdAgain > 0) await records.deleteOrphanedConsents.executeWithOptions(atBank('Delete orphaned consents'), [consentId]);
    return accept(outcome.result);
  }

  async function accept(created: ConsentCreationSummary): Promise<void> {
    state.creation = created;
    state.authorisationId = created.authorisationId;
    upsertSearchAttributes([{ key: ConsentStatusAttr, value: created.consentStatus }]);
    if (created.consentStatus === 'valid') {
      await activate();
    } else {
      state.phase = 'awaiting_sca';
      state.scaDeadline = Date.now() + timings.scaTimeoutMs;
      show();
    }
  }

  async function refuseCreation(httpStatus: number, messages: BankRefusal['messages'], why: string): Promise<void> {
    state.creationError = {
      httpStatus,
      messages: messages.length ? messages : [{ category: 'ERROR', code: 'CONSENT_UNKNOWN', text: why }],
    };
    await transition({ raw: 'rejected', normalised: 'rejected' }, `Creation failed: ${why}`);
  }

  /** SCA is done: learn what the bank granted (the real validUntil) and go live. */
  async function activate(): Promise<void> {
    let granted: Awaited<ReturnType<ConsentActivities['getBankConsent']>>;
    try {
      granted = await grantReads.getBankConsent.executeWithOptions(atBank('Read the granted consent'), [consentId]);
    } catch (err) {
      const failure = findApplicationFailure(err);
      if (state.phase === 'ended') return;
      return transition({ raw: 'rejected', normalised: 'rejected' }, `The bank refused to confirm the consent: ${failure?.message ?? 'unknown error'}`);
    }
    // Terminated by the TPP while we were asking the bank: that decision stands.
    if (state.phase === 'ended') return;
    state.frequencyPerDay = granted.frequencyPerDay;
    state.validUntilMs = Date.parse(`${granted.validUntil}T00:00:00Z`) + DAY_MS;
    state.phase = 'active';
    state.nextStatusCheckAt = Date.now() + timings.statusCheckIntervalMs;
    await transition(granted.status.normalised === 'valid' ? granted.status : { raw: granted.status.raw, normalised: 'valid' }, undefined);
  }

  async function awaitSca(): Promise<void> {
    const outcome = await sca.until({
      deadline: state.scaDeadline!,
      pollInitialMs: timings.scaPollInitialMs,
      pollMaxMs: timings.scaPollMaxMs,
      interrupted: () => state.phase === 'ended',
      check: async (n) => {
        const redeemed = await redeemOAuthReturn();
        // 'retry': the bank's answer is still missing; its status alone must not move us past it.
        if (redeemed) return redeemed === 'retry' ? undefined : redeemed;
        if (!state.authorisationId) return undefined;
        const status = await readOrUndefined(() => statusReads.getBankConsentScaStatus.executeWithOptions(label('Check SCA status', n), [consentId, state.authorisationId!]));
        if (status && state.phase !== 'ended') await recordSca(status);
        return status?.normalised;
      },
      afterCheck: continueAsNewIfDue,
    });
    if (outcome === 'interrupted') return;
    if (outcome === 'finalised') return activate();
    if (outcome === 'timeout') {
      await readOrUndefined(() => commands.deleteConsentAtBank.executeWithOptions(atBank('Withdraw after the SCA timeout'), [consentId]));
      if (state.phase === 'ended') return;
      return transition({ raw: 'rejected', normalised: 'rejected' }, `SCA timeout: no decision within ${Math.round(timings.scaTimeoutMs / 1000)}s`);
    }
    const bank = await readOrUndefined(() => statusReads.getBankConsentStatus.executeWithOptions(atBank('Check consent status after the failed SCA'), [consentId]));
    if (state.phase === 'ended') return;
    return transition({ raw: bank?.raw ?? 'rejected', normalised: 'rejected' }, 'SCA failed');
  }

  /** The PSU came back from an OAuth/OIDC authorisation: redeem the code (tokens stay sealed in PostgreSQL). */
  async function redeemOAuthReturn(): Promise<ScaStatus | 'retry' | undefined> {
    const handoffId = state.oauthReturns?.shift();
    if (handoffId === undefined || !patched(PATCH_OAUTH_AUTHORISATION)) return undefined;
    const done = await readOrUndefined(() => oauth.completeOAuthConsentAuthorisationAtBank(consentId, handoffId));
    if (!done) {
      oauthReturns().unshift(handoffId);
      return 'retry';
    }
    if (done.outcome !== 'completed' || state.phase === 'ended') return undefined;
    await recordSca({ raw: done.rawScaStatus, normalised: done.scaStatus });
    return done.scaStatus;
  }

  async function checkAtBank(): Promise<void> {
    const bank = await readOrUndefined(() => statusReads.getBankConsentStatus.executeWithOptions(atBank('Check consent status'), [consentId]));
    if (!bank || bank.normalised === state.status || state.status !== 'valid') return;
    if (FINAL_CONSENT_STATUSES.has(bank.normalised)) {
      log.info('Consent ended at the bank', { consentId, status: bank.normalised });
      await transition(bank, 'Reported by the bank');
    }
  }

  async function liveUntilEnd(): Promise<void> {
    while (state.status === 'valid') {
      const now = Date.now();
      const validUntilMs = state.validUntilMs!;
      if (now >= validUntilMs) {
        await transition({ raw: 'expired', normalised: 'expired' }, 'validUntil reached');
        return;
      }
      const noticeAt = validUntilMs - timings.expiringNoticeMs;
      if (!state.expiringNoticeSent && now >= noticeAt) {
        await records.emitConsentEvent.executeWithOptions(label('Store the consent.expiring event'), [{
          consentId,
          type: 'consent.expiring',
          dedupeKey: `consent.expiring:${consentId}`,
          payload: { consentId, validUntil: new Date(validUntilMs - DAY_MS).toISOString().slice(0, 10) },
        }]);
        state.expiringNoticeSent = true;
        continue;
      }
      if (statusCheckRequested || now >= state.nextStatusCheckAt!) {
        statusCheckRequested = false;
        await checkAtBank();
        state.nextStatusCheckAt = Date.now() + timings.statusCheckIntervalMs;
        continue;
      }
      const wakeAt = Math.min(validUntilMs, state.expiringNoticeSent ? Infinity : noticeAt, state.nextStatusCheckAt!);
      const summary = wakeAt === validUntilMs ? 'Until validUntil (expiry)' : wakeAt === noticeAt ? 'Until the expiring notice' : 'Until the next status check';
      show();
      // Reads arrive as updates and grow the history too: wake up when it is time to continue-as-new.
      await condition(() => state.status !== 'valid' || statusCheckRequested || continueAsNewDue(), wakeAt - now, { summary });
      await continueAsNewIfDue();
    }
  }

  if (state.phase === 'creating') await create();
  if (state.phase === 'awaiting_sca') await awaitSca();
  if (state.phase === 'active') await liveUntilEnd();
  await condition(allHandlersFinished);
  state.phase = 'ended';
  show();
  return state;
}

function refusal(type: ConsentRefusal, message: string, details?: BankRefusal): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details ? [details] : [] });
}

/**
 * A failed bank call as the refusal the API reports, from the protocol-neutral meaning the
 * activity gave it (histories recorded before it did are read with the same one rule).
 */
function bankRefusal(err: unknown): ApplicationFailure {
  const failure = findApplicationFailure(err);
  const details = (failure?.details?.[0] as (BankRefusal & { refusal?: BankRefusalKind }) | undefined) ?? { httpStatus: 502, messages: [] };
  const kind = details.refusal ?? bankRefusalKind(details);
  if (kind === 'consent_expired') return refusal('consent_expired', failure?.message ?? 'The consent has expired', details);
  if (kind === 'consent_invalid') return refusal('consent_invalid', failure?.message ?? 'The consent is no longer valid', details);
  if (failure?.type === 'BankRateLimited' || kind === 'access_exceeded') return refusal('access_exceeded', 'The bank refused: access limit reached', details);
  if (kind === 'resource_unknown') return refusal('resource_unknown', failure?.message ?? 'Unknown resource', details);
  return refusal('bank_refused', failure?.message ?? 'The bank refused the request', details);
}
