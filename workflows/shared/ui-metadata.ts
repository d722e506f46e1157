/**
 * What the Temporal UI shows about a workflow, in words an operator reads: the static summary
 * (one line beside the workflow id in the list), the static details (markdown on its page), the
 * current details (the live phase, kept up to date by the workflow) and the summaries of its
 * activities and timers. Pure and workflow-safe: used by the API when it starts a workflow and by
 * the workflows themselves.
 *
 * NO PII ever: these strings are stored unencrypted in Temporal. Pass only identifiers, statuses,
 * amounts, BICs, products and tenants, never names, IBANs, wallet addresses of people or
 * remittance text. As a second line of defence, every string this module returns is passed through
 * {@link redactPii}, which masks anything shaped like an IBAN or an e-mail address.
 *
 * Usage (see docs/operators.md "For developers"):
 * ```ts
 * // starting (API, schedule action, startChild):
 * staticSummary: summaryLine([productLabel('sepa-credit-transfers'), money({ amount: '142.66', currency: 'EUR' })], bicFi, tenant(tenantId)),
 * staticDetails: detailsMarkdown({ title: 'Payment', facts: [['Bank', bicFi]], links: [['API', url]] }),
 * // in the workflow:
 * setCurrentDetails(phrases.pollingBank({ status: 'ACSP', nextCheckInMs: 4000 }));
 * await reads.getStatus.executeWithOptions({ summary: activitySummary('Check status', { attempt: 3 }) }, [id]);
 * await sleep(ms, { summary: `Wait before status check ${n}` });
 * ```
 */
import type { PaymentProduct } from '../../libs/domain/payment';

/** Temporal's limit for a static summary (one line). */
export const SUMMARY_MAX_BYTES = 200;
/** Temporal's limit for static and current details (markdown). */
export const DETAILS_MAX_BYTES = 20_000;

/** Separator between the parts of a summary line. */
export const SEPARATOR = ' · ';

/** A decimal amount as the API carries it (never a float). */
export interface Money {
  amount: string;
  currency: string;
}

/** Short product names for summary lines. */
export const PRODUCT_LABELS: Readonly<Record<PaymentProduct, string>> = {
  'sepa-credit-transfers': 'SCT',
  'instant-sepa-credit-transfers': 'SCT Inst',
  domestic: 'Domestic',
  international: 'International',
};

export function productLabel(product: string): string {
  return (PRODUCT_LABELS as Record<string, string>)[product] ?? product;
}

/** `142.66 EUR`. */
export function money(m: Money): string {
  return `${m.amount} ${m.currency}`;
}

/**
 * An amount in minor units (Open Payments `{ value, assetCode, assetScale }`) as a decimal:
 * `{ value: '1250', assetCode: 'EUR', assetScale: 2 }` → `12.50 EUR`. String arithmetic, no floats.
 */
export function minorUnits(m: { value: string; assetCode: string; assetScale: number }): string {
  const negative = m.value.startsWith('-');
  const digits = (negative ? m.value.slice(1) : m.value).replace(/^0+(?=\d)/, '');
  const scale = Math.max(0, Math.trunc(m.assetScale));
  const padded = digits.padStart(scale + 1, '0');
  const whole = padded.slice(0, padded.length - scale);
  const amount = scale > 0 ? `${whole}.${padded.slice(padded.length - scale)}` : whole;
  return `${negative ? '-' : ''}${amount} ${m.assetCode}`;
}

/** `tenant sandbox`. */
export function tenant(tenantId: string): string {
  return `tenant ${tenantId}`;
}

/** The host of a URL (`https://wallet.example/alice` → `wallet.example`): names the provider, not the person. */
export function hostOf(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]+)/i.exec(url);
  return m ? m[1].replace(/^[^@]*@/, '') : 'unknown host';
}

const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g;
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;

/** Masks anything shaped like an IBAN or an e-mail address: a guard, not a licence to pass PII in. */
export function redactPii(text: string): string {
  return text.replace(IBAN, '[redacted]').replace(EMAIL, '[redacted]');
}

/** UTF-8 length without TextEncoder (kept out of the workflow sandbox's way). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, ending with `…` when cut. */
export function truncateBytes(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let out = '';
  let used = 0;
  const budget = maxBytes - 3; // the ellipsis
  for (const ch of text) {
    const size = utf8Bytes(ch);
    if (used + size > budget) break;
    out += ch;
    used += size;
  }
  return `${out}…`;
}

/**
 * One summary line: the parts that are set, joined by ` · `, on one line, redacted and cut to
 * 200 bytes. A part given as an array is joined with spaces:
 * `summaryLine(['SCT', '142.66 EUR'], 'SANDDEB0XXX', 'tenant sandbox')` →
 * `SCT 142.66 EUR · SANDDEB0XXX · tenant sandbox`.
 */
export function summaryLine(...parts: (string | readonly (string | undefined | null | false)[] | undefined | null | false)[]): string {
  const text = parts
    .map((p) => (Array.isArray(p) ? p.filter(Boolean).join(' ') : p))
    .filter((p): p is string => typeof p === 'string' && p.trim().length > 0)
    .join(SEPARATOR);
  return truncateBytes(redactPii(oneLine(text)), SUMMARY_MAX_BYTES);
}

/** A summary for an activity or timer (Temporal shows it beside the event): one line, redacted, ≤ 200 bytes. */
export function activitySummary(what: string, opts: { attempt?: number; at?: string } = {}): string {
  const at = opts.at ? ` at ${opts.at}` : '';
  const attempt = opts.attempt !== undefined && opts.attempt > 1 ? ` (attempt ${opts.attempt})` : '';
  return summaryLine(`${what}${at}${attempt}`);
}

export interface DetailsInput {
  /** The heading, e.g. `Payment 8172…`. */
  title: string;
  /** Label/value rows; rows whose value is undefined, null or empty are left out. */
  facts?: readonly (readonly [string, string | number | undefined | null])[];
  /** Label/URL rows, rendered as markdown links. */
  links?: readonly (readonly [string, string | undefined | null])[];
  /** Free lines below (operator hints); keep them free of PII. */
  notes?: readonly string[];
}

/** Static details: markdown, redacted, within Temporal's 20 KB. */
export function detailsMarkdown(d: DetailsInput): string {
  const lines = [`**${escapeMd(oneLine(d.title))}**`, ''];
  for (const [label, value] of d.facts ?? []) {
    if (value === undefined || value === null || value === '') continue;
    lines.push(`- ${escapeMd(label)}: ${escapeMd(oneLine(String(value)))}`);
  }
  const links = (d.links ?? []).filter((l): l is readonly [string, string] => typeof l[1] === 'string' && l[1].length > 0);
  if (links.length) {
    lines.push('');
    for (const [label, url] of links) lines.push(`- [${escapeMd(label)}](${url.replace(/[\s()]/g, encodeURIComponent)})`);
  }
  if (d.notes?.length) lines.push('', ...d.notes.map(oneLine));
  return truncateBytes(redactPii(lines.join('\n')), DETAILS_MAX_BYTES);
}

/** `06:51 UTC` (workflow time is deterministic, so this is safe inside workflows). */
export function clock(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(11, 16)} UTC`;
}

/** `4 s`, `12 min`, `2 h 5 min`, `3 d 4 h`: rounded, for people. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `2027-05-30` from an ISO date or date-time, or epoch ms. */
export function day(value: string | number): string {
  return typeof value === 'number' ? new Date(value).toISOString().slice(0, 10) : value.slice(0, 10);
}

/**
 * Current-details phrases: the live phase in words (`setCurrentDetails(phrases.…)`). Each returns
 * one redacted line; join several with `\n` for more.
 */
export const phrases = {
  /** `Initiating at SANDDEB0XXX` */
  initiating: (at: string) => line(`Initiating at ${at}`),
  /** `Waiting for the PSU's SCA since 06:51 UTC (redirect); times out at 07:06 UTC` */
  waitingForSca: (p: { sinceMs: number; timesOutAtMs: number; approach?: string }) =>
    line(`Waiting for the PSU's SCA since ${clock(p.sinceMs).replace(' UTC', '')}${p.approach ? ` (${p.approach.toLowerCase()})` : ''}; times out at ${clock(p.timesOutAtMs)}`),
  /** `Polling the bank: ACSP, next check in 4 s` */
  pollingBank: (p: { status: string; nextCheckInMs?: number }) =>
    line(`Polling the bank: ${p.status}${p.nextCheckInMs !== undefined ? `, next check in ${duration(p.nextCheckInMs)}` : ''}`),
  /** `Consent valid until 2027-05-30; 2 of 4 unattended reads used today` */
  consentValid: (p: { validUntil: string; readsUsed?: number; readsPerDay?: number }) =>
    line(`Consent valid until ${day(p.validUntil)}${p.readsPerDay ? `; ${p.readsUsed ?? 0} of ${p.readsPerDay} unattended reads used today` : ''}`),
  /** `Outcome unknown since 06:51 UTC: <reason>; waiting for the bank's lookup or an operator's resolveInitiation` */
  outcomeUnknown: (p: { sinceMs?: number; reason: string; resolution: string }) =>
    line(`Outcome unknown${p.sinceMs !== undefined ? ` since ${clock(p.sinceMs)}` : ''}: ${p.reason}; ${p.resolution}`),
  /** `Final: ACSC` / `Final: RJCT (SCA timeout)` */
  final: (status: string, reason?: string) => line(`Final: ${status}${reason ? ` (${reason})` : ''}`),
  /** Anything else, redacted and on one line. */
  text: (text: string) => line(text),
};

function line(text: string): string {
  return truncateBytes(redactPii(oneLine(text)), 1_000);
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

function escapeMd(text: string): string {
  return text.replace(/([\\`*_[\]<>|])/g, '\\$1');
}

// ---------------------------------------------------------------------------------------------
// Clearway's own resources: one summary and one details builder each, shared by every start site.

/** `SCT 142.66 EUR · SANDDEB0XXX · tenant sandbox` */
export function paymentSummary(p: { product: string; amount: Money; bicFi: string; tenantId: string; service?: string }): string {
  return summaryLine([p.service, productLabel(p.product), money(p.amount)], p.bicFi, tenant(p.tenantId));
}

/** Resource links into Clearway's API, the bank, the product and the SCA approaches the bank offers. */
export function paymentDetails(p: {
  paymentId: string;
  product: string;
  bicFi: string;
  tenantId: string;
  apiBaseUrl: string;
  service?: string;
  bankName?: string;
  scaApproaches?: readonly string[];
  scaTimeoutMs?: number;
}): string {
  const service = p.service ?? 'payments';
  const path = `${p.apiBaseUrl}/psd2/paymentinitiation/v1/${service}/${p.product}/${p.paymentId}`;
  return detailsMarkdown({
    title: `Payment ${p.paymentId}`,
    facts: [
      ['Bank', p.bankName ? `${p.bicFi} (${p.bankName})` : p.bicFi],
      ['Product', `${p.product} (${service})`],
      ['SCA approaches the bank offers', p.scaApproaches?.join(', ')],
      ['SCA timeout', p.scaTimeoutMs !== undefined ? duration(p.scaTimeoutMs) : undefined],
      ['Tenant', p.tenantId],
    ],
    links: [
      ['Payment (API)', path],
      ['Status (API)', `${path}/status`],
      ['Authorisations (API)', `${path}/authorisations`],
      ['Bank (API)', `${p.apiBaseUrl}/psd2/aspspinformation/v1/aspsps/${p.bicFi}`],
    ],
    notes: ['Query `statusView` for the status as the API shows it. Operators: see docs/operators.md.'],
  });
}

/** `AIS consent · 4 reads/day · accounts, balances, transactions · SANDDEB0XXX · tenant sandbox` */
export function consentSummary(p: { bicFi: string; tenantId: string; frequencyPerDay: number; grants: Readonly<Partial<Record<'accounts' | 'balances' | 'transactions', boolean>>> }): string {
  const granted = Object.entries(p.grants).filter(([, on]) => on).map(([k]) => k);
  return summaryLine('AIS consent', `${p.frequencyPerDay} reads/day`, granted.join(', ') || undefined, p.bicFi, tenant(p.tenantId));
}

export function consentDetails(p: {
  consentId: string;
  bicFi: string;
  tenantId: string;
  apiBaseUrl: string;
  bankName?: string;
  recurring?: boolean;
  requestedValidUntil?: string;
  scaApproaches?: readonly string[];
}): string {
  const path = `${p.apiBaseUrl}/psd2/consent/v1/consents/${p.consentId}`;
  return detailsMarkdown({
    title: `Consent ${p.consentId}`,
    facts: [
      ['Bank', p.bankName ? `${p.bicFi} (${p.bankName})` : p.bicFi],
      ['Recurring', p.recurring === undefined ? undefined : p.recurring ? 'yes' : 'no'],
      ['Requested valid until', p.requestedValidUntil],
      ['SCA approaches the bank offers', p.scaApproaches?.join(', ')],
      ['Tenant', p.tenantId],
    ],
    links: [
      ['Consent (API)', path],
      ['Status (API)', `${path}/status`],
      ['Bank (API)', `${p.apiBaseUrl}/psd2/aspspinformation/v1/aspsps/${p.bicFi}`],
    ],
    notes: ['Query `statusView` for the status as the API shows it. Operators: see docs/operators.md.'],
  });
}

/** `Open Payments transfer 12.50 EUR (debit) · 127.0.0.1:3002 · tenant sandbox`: the wallet's host, never the wallet. */
export function transferSummary(p: {
  amount: { value: string; assetCode: string; assetScale: number };
  amountKind: 'debit' | 'receive';
  senderWalletAddress: string;
  tenantId: string;
}): string {
  return summaryLine(['Open Payments transfer', minorUnits(p.amount), `(${p.amountKind})`], hostOf(p.senderWalletAddress), tenant(p.tenantId));
}

export function transferDetails(p: { transferId: string; tenantId: string; apiBaseUrl: string; senderWalletAddress: string }): string {
  return detailsMarkdown({
    title: `Open Payments transfer ${p.transferId}`,
    facts: [
      ['Sender wallet host', hostOf(p.senderWalletAddress)],
      ['Flow', 'grant → incoming payment → quote → interactive grant (the PSU approves at the wallet) → outgoing payment'],
      ['Tenant', p.tenantId],
    ],
    links: [['Transfer (API)', `${p.apiBaseUrl}/openpayments/v1/transfers/${p.transferId}`]],
    notes: ['Query `statusView` for the status as the API shows it. Operators: see docs/operators.md.'],
  });
}

/** `Mandate 5.00 EUR per P1D (R12) · 127.0.0.1:3002 · tenant sandbox` */
export function mandateSummary(p: { amount: { value: string; assetCode: string; assetScale: number }; interval: string; senderWalletAddress: string; tenantId: string }): string {
  const [repeat, , period] = p.interval.split('/');
  return summaryLine(['Mandate', minorUnits(p.amount), period ? `per ${period}` : undefined, repeat && repeat !== 'R' ? `(${repeat})` : undefined], hostOf(p.senderWalletAddress), tenant(p.tenantId));
}

export function mandateDetails(p: { mandateId: string; tenantId: string; apiBaseUrl: string; interval: string; senderWalletAddress: string }): string {
  return detailsMarkdown({
    title: `Mandate ${p.mandateId}`,
    facts: [
      ['Interval', p.interval],
      ['Sender wallet host', hostOf(p.senderWalletAddress)],
      ['Schedule', `mandate-${p.mandateId} (one payment workflow per period)`],
      ['Tenant', p.tenantId],
    ],
    links: [['Mandate (API)', `${p.apiBaseUrl}/openpayments/v1/mandates/${p.mandateId}`]],
    notes: ['Query `statusView` for the status as the API shows it. Operators: see docs/operators.md.'],
  });
}

/** `Mandate period 5.00 EUR · mandate <id> · tenant sandbox` (a Schedule action: the period comes from the scheduled time). */
export function mandatePeriodSummary(p: { mandateId: string; amount?: { value: string; assetCode: string; assetScale: number }; tenantId?: string }): string {
  return summaryLine(['Mandate period', p.amount && minorUnits(p.amount)], `mandate ${p.mandateId}`, p.tenantId && tenant(p.tenantId));
}

export function mandatePeriodDetails(p: { mandateId: string; apiBaseUrl: string; tenantId?: string }): string {
  return detailsMarkdown({
    title: `A period's payment of mandate ${p.mandateId}`,
    facts: [
      ['Period', 'the run\'s TemporalScheduledStartTime (set by the Schedule)'],
      ['Tenant', p.tenantId],
    ],
    links: [['Mandate and its periods (API)', `${p.apiBaseUrl}/openpayments/v1/mandates/${p.mandateId}`]],
    notes: ['Query `statusView` for the period\'s status. Operators: see docs/operators.md.'],
  });
}

/** `Webhook dispatcher · endpoint <id> · tenant sandbox` (the URL is the client's and stays out). */
export function webhookDispatcherSummary(p: { endpointId: string; tenantId: string }): string {
  return summaryLine('Webhook dispatcher', `endpoint ${p.endpointId}`, tenant(p.tenantId));
}

export function webhookDispatcherDetails(p: { endpointId: string; tenantId: string; apiBaseUrl?: string }): string {
  return detailsMarkdown({
    title: `Webhook endpoint ${p.endpointId}`,
    facts: [
      ['Delivers', 'the endpoint\'s due deliveries from the outbox (domain_events), in order per resource'],
      ['Tenant', p.tenantId],
    ],
    links: [['Endpoint (API)', p.apiBaseUrl ? `${p.apiBaseUrl}/webhooks/v1/endpoints/${p.endpointId}` : undefined]],
    notes: ['Query `statusView` for its health. Operators: see docs/operators.md.'],
  });
}
