/**
 * The PSU's authorisation page of the Paysera-profile sandbox: a styled test-mode page with a plain
 * form (no JavaScript), so a person, a headless browser or a test doing GET then POST can use it.
 */
import { maskIban } from '../../../libs/domain/iban';
import type { SandboxConsentView } from '../berlin-group/ais/consents';
import type { SandboxAccount } from '../berlin-group/ais/accounts';
import { escapeHtml } from '../berlin-group/sca-page';
import type { PayseraPayment } from './payments';

const STYLE = `
body{font-family:system-ui,sans-serif;background:#f4f6f8;margin:0;color:#1c2733}
.banner{background:#ffb300;color:#1c2733;padding:.5rem 1rem;font-weight:600;text-align:center}
main{max-width:32rem;margin:2rem auto;background:#fff;border-radius:.5rem;padding:1.5rem 2rem;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;color:#0b5394}
dt{font-weight:600;margin-top:.5rem}dd{margin:0}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}
select{width:100%;padding:.4rem}
.actions{display:flex;gap:1rem;margin-top:1.5rem}
button{flex:1;padding:.6rem;border:0;border-radius:.3rem;font-size:1rem;cursor:pointer}
#approve{background:#0b5394;color:#fff}#deny{background:#e0e0e0}
`;

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)} · Sandbox Bank LT (Paysera profile)</title><style>${STYLE}</style></head>
<body>
<div class="banner">TEST MODE · Sandbox Bank LT (Berlin Group, OAuth SCA): no real money moves</div>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Hidden fields that carry the authorization request through the form post. */
function requestFields(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n  ');
}

export function renderPaymentAuthorisation(payment: PayseraPayment, accounts: readonly SandboxAccount[], clientName: string, query: Record<string, string>): string {
  const { instructedAmount, creditorName, creditorAccount, remittanceInformationUnstructured } = payment.body;
  const choices = accounts.filter((a) => a.currency === instructedAmount.currency);
  const debtor = payment.debtorIban
    ? `<dt>From</dt><dd id="debtor">${escapeHtml(maskIban(payment.debtorIban))}</dd>`
    : '';
  const picker = payment.debtorIban
    ? ''
    : `<label for="debtorAccount">Pay from</label>
  <select name="debtorAccount" id="debtorAccount" required>
${choices.map((a) => `    <option value="${escapeHtml(a.resourceId)}">${escapeHtml(a.name)} · ${escapeHtml(maskIban(a.iban))}</option>`).join('\n')}
  </select>`;
  return layout(
    'Authorise payment',
    `<h1>Authorise payment</h1>
<p>${escapeHtml(clientName)} asks you to authorise this payment.</p>
<dl>
  <dt>Amount</dt><dd id="amount">${escapeHtml(instructedAmount.amount)} ${escapeHtml(instructedAmount.currency)}</dd>
  <dt>To</dt><dd id="creditor">${escapeHtml(creditorName)} · ${escapeHtml(maskIban(creditorAccount.iban))}</dd>
  ${debtor}
  ${remittanceInformationUnstructured ? `<dt>Reference</dt><dd>${escapeHtml(remittanceInformationUnstructured)}</dd>` : ''}
</dl>
<form method="post">
  ${requestFields(query)}
  ${picker}
  <div class="actions">
    <button type="submit" name="decision" value="approve" id="approve">Approve</button>
    <button type="submit" name="decision" value="deny" id="deny">Deny</button>
  </div>
</form>`,
  );
}

export function renderConsentAuthorisation(consent: SandboxConsentView, clientName: string, query: Record<string, string>): string {
  const rows = consent.accounts
    .map((a) => `  <li>${escapeHtml(a.name)} · ${escapeHtml(maskIban(a.iban))} · ${escapeHtml(a.currency)}: ${escapeHtml(a.services.join(', '))}</li>`)
    .join('\n');
  return layout(
    'Grant access to your accounts',
    `<h1>Grant access to your accounts</h1>
<p>${escapeHtml(clientName)} asks to read your account information.</p>
${consent.allAccounts ? `<p id="scope">${escapeHtml(consent.allAccounts.form)}</p>` : ''}
<ul id="accounts">
${rows}
</ul>
<dl>
  <dt>Valid until</dt><dd id="valid-until">${escapeHtml(consent.validUntil)}</dd>
  <dt>Accesses per day without you</dt><dd id="frequency">${consent.frequencyPerDay}</dd>
</dl>
<form method="post">
  ${requestFields(query)}
  <div class="actions">
    <button type="submit" name="decision" value="approve" id="approve">Approve</button>
    <button type="submit" name="decision" value="deny" id="deny">Deny</button>
  </div>
</form>`,
  );
}

export function renderMessage(title: string, text: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}
