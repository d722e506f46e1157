/**
 * The redirect-SCA page of the sandbox bank: a bank's test-mode page (`../test-mode-page.ts`), plain
 * HTML with a form, no JavaScript, so a person, a headless browser or a test doing GET then POST can
 * all use it.
 */
import { DECISION_FORM, escapeHtml, renderTestModePage } from '../test-mode-page';
import type { SandboxPaymentView } from './bank';

export function renderScaPage(payment: SandboxPaymentView): string {
  const { instructedAmount, creditorName, creditorAccount, remittanceInformationUnstructured } = payment.payment;
  return page(
    'Authorise payment',
    `<p>A payment is waiting for your authorisation.</p>
<dl>
  <dt>Amount</dt><dd id="amount">${escapeHtml(instructedAmount.amount)} ${escapeHtml(instructedAmount.currency)}</dd>
  <dt>Creditor</dt><dd id="creditor">${escapeHtml(creditorName)}</dd>
  <dt>Creditor account</dt><dd>${escapeHtml(maskIban(creditorAccount.iban))}</dd>
  ${remittanceInformationUnstructured ? `<dt>Reference</dt><dd>${escapeHtml(remittanceInformationUnstructured)}</dd>` : ''}
</dl>
${DECISION_FORM}`,
  );
}

export function renderScaMessage(title: string, text: string): string {
  return page(title, `<p>${escapeHtml(text)}</p>`);
}

/** A page of the sandbox bank: its name, the protocol, clearly marked SANDBOX. */
export function page(title: string, body: string): string {
  return renderTestModePage({ institution: 'Clearway Sandbox Bank', protocol: 'Berlin Group NextGenPSD2', title, body });
}

/** The PSU sees enough to recognise the account, not the whole IBAN. */
function maskIban(iban: string | undefined): string {
  if (!iban) return '';
  return iban.length <= 8 ? iban : `${iban.slice(0, 4)} •••• ${iban.slice(-4)}`;
}

export { escapeHtml };
