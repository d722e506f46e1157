/**
 * The redirect-SCA page of the sandbox bank: plain HTML with a form, no JavaScript, so a person,
 * a headless browser or a test doing GET then POST can all use it.
 */
import type { SandboxPaymentView } from './bank';

export function renderScaPage(payment: SandboxPaymentView): string {
  const { instructedAmount, creditorName, creditorAccount, remittanceInformationUnstructured } = payment.payment;
  return layout(
    'Authorise payment',
    `<h1>Authorise payment</h1>
<dl>
  <dt>Amount</dt><dd id="amount">${escapeHtml(instructedAmount.amount)} ${escapeHtml(instructedAmount.currency)}</dd>
  <dt>Creditor</dt><dd id="creditor">${escapeHtml(creditorName)}</dd>
  <dt>Creditor account</dt><dd>${escapeHtml(maskIban(creditorAccount.iban))}</dd>
  ${remittanceInformationUnstructured ? `<dt>Reference</dt><dd>${escapeHtml(remittanceInformationUnstructured)}</dd>` : ''}
</dl>
<form method="post">
  <button type="submit" name="decision" value="approve" id="approve">Approve</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`,
  );
}

export function renderScaMessage(title: string, text: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · Clearway Sandbox Bank</title></head>
<body>
<p>Clearway Sandbox Bank (Berlin Group NextGenPSD2): test mode, no real money moves.</p>
${body}
</body>
</html>
`;
}

/** The PSU sees enough to recognise the account, not the whole IBAN. */
function maskIban(iban: string | undefined): string {
  if (!iban) return '';
  return iban.length <= 8 ? iban : `${iban.slice(0, 4)} •••• ${iban.slice(-4)}`;
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
