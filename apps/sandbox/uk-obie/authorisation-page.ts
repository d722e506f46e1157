import { escapeHtml } from './auth-server';
import { SANDBOX_UK_PSUS } from './accounts';
import type { PendingAuthorisation, UkSandboxState } from './state';

/**
 * The PSU's page: log in as a test user, pick the account(s), Approve or Deny. A plain form, so a
 * person, a headless browser or an HTTP form post can drive it. Every test user's accounts are
 * listed (the sandbox has no session): the bank checks on submit that they are the user's.
 */
export function authorisationPage(p: { ticket: string; pending: PendingAuthorisation; state: UkSandboxState; psu?: string; error?: string }): string {
  const { pending, state } = p;
  const consent = pending.kind === 'payments' ? state.paymentConsents.get(pending.consentId) : state.accountConsents.get(pending.consentId);
  const what =
    pending.kind === 'payments' && consent && 'initiation' in consent
      ? `Pay <b>${escapeHtml(String(consent.initiation.InstructedAmount?.Amount))} ${escapeHtml(String(consent.initiation.InstructedAmount?.Currency))}</b> to <b>${escapeHtml(String(consent.initiation.CreditorAccount?.Name ?? ''))}</b>`
      : `Share account information (${escapeHtml((consent && 'permissions' in consent ? consent.permissions : []).join(', '))})`;
  const accounts = Object.keys(SANDBOX_UK_PSUS)
    .flatMap((psu) => state.accountsOf(psu).map((a) => ({ psu, a })))
    .map(
      ({ psu, a }) =>
        `<label><input type="${pending.kind === 'payments' ? 'radio' : 'checkbox'}" name="account" value="${escapeHtml(a.accountId)}"> ${escapeHtml(psu)} · ${escapeHtml(a.nickname)} · ${a.sortCode.replace(/(\d\d)(\d\d)(\d\d)/, '$1-$2-$3')} ${a.accountNumber}</label><br>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox UK Bank – authorise</title></head>
<body>
<h1>Sandbox UK Bank</h1>
<p id="what">${what}</p>
${p.error ? `<p id="error" role="alert">${escapeHtml(p.error)}</p>` : ''}
<form method="post" action="authorize">
<input type="hidden" name="ticket" value="${escapeHtml(p.ticket)}">
<label>User name <input name="username" id="username" value="${escapeHtml(p.psu ?? '')}" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
<fieldset><legend>Account</legend>
${accounts}
</fieldset>
<button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
<p><small>Test users: rora / rora., mits / mits., ivsa / ivsa.</small></p>
</body></html>`;
}
