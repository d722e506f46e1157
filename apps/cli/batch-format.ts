import type { Batch, BatchBulk, BatchPage, BatchProgress, SinglePayment, TppMessage } from './batch-api';

/** Human-readable output of the CLI. `--json` bypasses all of it. */

/** "1234567.89" → "1,234,567.89", without going through a number. */
export function groupDigits(decimal: string | number): string {
  const [integer, fraction] = String(decimal).split('.');
  const grouped = integer.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

function totalsLine(batch: Batch): string {
  const totals = batch.totals?.length
    ? batch.totals.map((t) => `${groupDigits(t.amount)} ${t.currency}`).join(' + ')
    : batch.controlSum !== undefined
      ? groupDigits(batch.controlSum)
      : '';
  return `${groupDigits(batch.numberOfTransactions)} transactions${totals ? ` · ${totals}` : ''}`;
}

export function progressLine(p: BatchProgress): string {
  return (
    `settled ${groupDigits(p.settled)}/${groupDigits(p.total)} · accepted ${groupDigits(p.accepted)} · ` +
    `awaiting SCA ${groupDigits(p.awaitingSca)} · rejected ${groupDigits(p.rejected)}` +
    (p.cancelled ? ` · cancelled ${groupDigits(p.cancelled)}` : '')
  );
}

/** What an operator must do for one bulk: open a link, approve in the app, or list the singles. */
function authorisation(bulk: BatchBulk, batchId: string): string[] {
  if (bulk.route === 'single') {
    const count = bulk.payments?.count ?? bulk.numberOfTransactions;
    return [`${groupDigits(count)} single payments, each with its own SCA: clearway batch payments ${batchId} --pmt-inf ${bulk.pmtInfId}`];
  }
  const lines: string[] = [];
  if (bulk._links?.scaRedirect) lines.push(`authorise: ${bulk._links.scaRedirect.href}`);
  if (bulk.scaApproach === 'DECOUPLED' || (bulk.psuMessage && !bulk._links?.scaRedirect)) {
    lines.push(`approve in the banking app (decoupled)${bulk.psuMessage ? `: ${bulk.psuMessage}` : ''}`);
  }
  return lines;
}

function bulkLines(bulk: BatchBulk, batchId: string, withAuthorisation: boolean): string[] {
  const head =
    `  ${bulk.pmtInfId}  ${bulk.bicFi ?? '?'}  ${bulk.route}  ${groupDigits(bulk.numberOfTransactions)} tx` +
    (bulk.controlSum !== undefined ? `  ${groupDigits(bulk.controlSum)}` : '') +
    (bulk.transactionStatus ? `  [${bulk.transactionStatus}]` : '');
  const lines = [head];
  if (bulk.statusReason) lines.push(`      reason: ${bulk.statusReason}`);
  if (bulk.progress) lines.push(`      ${progressLine(bulk.progress)}`);
  if (withAuthorisation) lines.push(...authorisation(bulk, batchId).map((l) => `      ${l}`));
  return lines;
}

/** After an upload: the batch, and per bulk where to authorise it. */
export function formatSubmitted(batch: Batch, created: boolean): string {
  return [
    created ? `Submitted batch ${batch.batchId}` : `Already submitted: batch ${batch.batchId} (same MsgId and file; nothing new was created)`,
    `  ${batch.msgId} · ${totalsLine(batch)} · ${batch.status}`,
    ...(batch.bulks ?? []).flatMap((b) => bulkLines(b, batch.batchId, true)),
  ].join('\n');
}

export function formatStatus(batch: Batch): string {
  const final = ['completed', 'partially_completed', 'rejected', 'cancelled'].includes(batch.status);
  return [
    `Batch ${batch.batchId}  ${batch.msgId}  ${batch.status}${batch.createdAt ? `  (created ${batch.createdAt})` : ''}`,
    `  ${totalsLine(batch)}`,
    ...(batch.statusReason ? [`  reason: ${batch.statusReason}`] : []),
    ...(batch.progress ? [`  ${progressLine(batch.progress)}`] : []),
    ...(batch.bulks ?? []).flatMap((b) => bulkLines(b, batch.batchId, !final)),
    ...(final ? [`  report: clearway batch report ${batch.batchId} -o ${batch.msgId}.pain002.xml`] : []),
  ].join('\n');
}

export function formatList(page: BatchPage): string {
  if (page.batches.length === 0) return 'No batches yet.';
  const rows = [
    ['BATCH ID', 'MSG ID', 'STATUS', 'CREATED', 'TX', 'SETTLED', 'REJECTED'],
    ...page.batches.map((b) => [
      b.batchId,
      b.msgId,
      b.status,
      b.createdAt ?? '',
      groupDigits(b.numberOfTransactions),
      groupDigits(b.progress?.settled ?? 0),
      groupDigits(b.progress?.rejected ?? 0),
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()).join('\n');
}

export function formatPayments(payments: SinglePayment[]): string {
  return payments
    .map((p) => `${p.endToEndId}  ${p.paymentId}  ${p.transactionStatus ?? ''}${p._links?.scaRedirect ? `  ${p._links.scaRedirect.href}` : ''}`)
    .join('\n');
}

/** tppMessages as the operator fixes them: one line each, path first; a code shared by all said once, above. */
export function formatTppMessages(messages: TppMessage[]): { codes: string; lines: string } {
  const codes = [...new Set(messages.map((m) => m.code).filter(Boolean))];
  const shared = codes.length === 1;
  return {
    codes: shared ? codes[0]! : '',
    lines: messages
      .map((m) => `  ${m.path ? `${m.path}: ` : ''}${m.text ?? m.code ?? 'error'}${!shared && m.code && m.text ? ` (${m.code})` : ''}`)
      .join('\n'),
  };
}
