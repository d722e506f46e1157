/**
 * The GNAP interaction page, a wallet's test-mode page (`../test-mode-page.ts`): plain HTML, one form posting `decision=approve|deny`, no JavaScript,
 * so a person, a headless browser or a test doing GET then POST can all use it.
 */
import { DECISION_FORM, escapeHtml, renderTestModePage } from '../test-mode-page';
import type { AccessItem, Amount, Grant } from './grants';

function formatAmount(amount: Amount): string {
  const value = amount.value.padStart(amount.assetScale + 1, '0');
  const whole = amount.assetScale ? `${value.slice(0, -amount.assetScale)}.${value.slice(-amount.assetScale)}` : value;
  return `${whole} ${amount.assetCode}`;
}

function describe(item: AccessItem): string {
  const rows = [`<dt>Access</dt><dd class="access">${escapeHtml(item.type)}: ${escapeHtml(item.actions.join(', '))}</dd>`];
  if (item.identifier) rows.push(`<dt>Wallet address</dt><dd class="identifier">${escapeHtml(item.identifier)}</dd>`);
  const limits = item.limits;
  if (limits?.debitAmount) rows.push(`<dt>Up to (debit)</dt><dd id="debit-limit">${escapeHtml(formatAmount(limits.debitAmount))}</dd>`);
  if (limits?.receiveAmount) rows.push(`<dt>Up to (received)</dt><dd id="receive-limit">${escapeHtml(formatAmount(limits.receiveAmount))}</dd>`);
  if (limits?.receiver) rows.push(`<dt>Only to</dt><dd id="receiver-limit">${escapeHtml(limits.receiver)}</dd>`);
  if (limits?.interval) rows.push(`<dt>Per interval</dt><dd id="interval">${escapeHtml(limits.interval)}</dd>`);
  if (!limits?.debitAmount && !limits?.receiveAmount) rows.push('<dt>Amount</dt><dd>No amount limit</dd>');
  return rows.join('\n  ');
}

export function renderConsentPage(grant: Grant): string {
  return layout(
    'Authorise access to your wallet',
    `<dl>
  <dt>Client</dt><dd id="client">${escapeHtml(grant.client)}</dd>
  ${grant.access.map(describe).join('\n  ')}
</dl>
${DECISION_FORM}`,
  );
}

export function renderConsentMessage(title: string, text: string): string {
  return layout(title, `<p>${escapeHtml(text)}</p>`);
}

function layout(title: string, body: string): string {
  return renderTestModePage({ institution: 'Clearway Sandbox ASE', protocol: 'Interledger Open Payments (wallet and authorization server)', title, body });
}
