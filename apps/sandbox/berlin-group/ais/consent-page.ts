/**
 * The redirect-SCA page for consents, in the style of `../sca-page.ts`: plain HTML, a form posting
 * `decision=approve|deny`, no JavaScript.
 */
import { maskIban } from '../../../../libs/domain/iban';
import { DECISION_FORM } from '../../test-mode-page';
import { escapeHtml, page } from '../sca-page';
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
  return page(
    'Grant access to your accounts',
    `${scope}
<ul id="accounts">
${rows}
</ul>
<dl>
  <dt>Valid until</dt><dd id="valid-until">${escapeHtml(consent.validUntil)}</dd>
  <dt>Accesses per day without you</dt><dd id="frequency">${consent.frequencyPerDay}</dd>
</dl>
${DECISION_FORM}`,
  );
}
