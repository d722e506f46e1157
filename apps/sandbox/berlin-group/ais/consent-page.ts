/**
 * The redirect-SCA page for consents, in the style of `../sca-page.ts`: plain HTML, a form posting
 * `decision=approve|deny`, no JavaScript.
 */
import { maskIban } from '../../../../libs/domain/iban';
import { escapeHtml } from '../sca-page';
import type { SandboxConsentView } from './consents';

export function renderConsentPage(consent: SandboxConsentView): string {
  const rows = consent.accounts
    .map(
      (account) =>
        `  <li>${escapeHtml(account.name)} · ${escapeHtml(maskIban(account.iban))} · ${escapeHtml(account.currency)}: ${escapeHtml(account.services.join(', '))}</li>`,
    )
    .join('\n');
  const scope = consent.allAccounts
    ? `<p id="scope">${escapeHtml(consent.allAccounts.form)}${consent.allAccounts.ownerName ? ' (with owner names)' : ''}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Grant access to your accounts · Clearway Sandbox Bank</title></head>
<body>
<p>Clearway Sandbox Bank (Berlin Group NextGenPSD2): test mode, no real money moves.</p>
<h1>Grant access to your accounts</h1>
${scope}
<ul id="accounts">
${rows}
</ul>
<dl>
  <dt>Valid until</dt><dd id="valid-until">${escapeHtml(consent.validUntil)}</dd>
  <dt>Accesses per day without you</dt><dd id="frequency">${consent.frequencyPerDay}</dd>
</dl>
<form method="post">
  <button type="submit" name="decision" value="approve" id="approve">Approve</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>
</body>
</html>
`;
}
