import { renderConsentPage as renderBgConsentPage } from './berlin-group/ais/consent-page';
import type { SandboxPaymentView } from './berlin-group/bank';
import type { SandboxConsentView } from './berlin-group/ais/consents';
import { renderScaMessage, renderScaPage } from './berlin-group/sca-page';
import type { Grant } from './open-payments/grants';
import { renderConsentMessage, renderConsentPage as renderOpConsentPage } from './open-payments/consent-page';
import { renderTestModePage } from './test-mode-page';

/**
 * The sandbox pages a person sees look like a bank's test-mode page: marked SANDBOX, accessible,
 * self-contained, and still one plain form (`decision=approve|deny`) a headless browser or a
 * GET-then-POST test can drive.
 */
const payment = {
  payment: {
    instructedAmount: { currency: 'EUR', amount: '142.66' },
    debtorAccount: { iban: 'DE89370400440532013000' },
    creditorName: 'Enterprise <GmbH>',
    creditorAccount: { iban: 'NL91ABNA0417164300' },
    remittanceInformationUnstructured: 'Invoice 42',
  },
} as unknown as SandboxPaymentView;

const consent = {
  validUntil: '2027-05-30',
  frequencyPerDay: 4,
  accounts: [{ iban: 'DE89370400440532013000', currency: 'EUR', name: 'Girokonto', services: ['accounts', 'balances'] }],
} as unknown as SandboxConsentView;

const grant = {
  client: 'https://wallet.example/clearway',
  access: [{ type: 'outgoing-payment', actions: ['create', 'read'], identifier: 'https://wallet.example/alice', limits: { debitAmount: { value: '1250', assetCode: 'EUR', assetScale: 2 } } }],
} as unknown as Grant;

const PAGES: [string, string][] = [
  ['payment SCA', renderScaPage(payment)],
  ['consent SCA', renderBgConsentPage(consent)],
  ['Open Payments interaction', renderOpConsentPage(grant)],
];

describe.each(PAGES)('%s page', (_name, html) => {
  it('is clearly marked as a sandbox, in the title and a banner', () => {
    expect(html).toMatch(/<title>SANDBOX · [^<]+<\/title>/);
    expect(html).toMatch(/<div class="sandbox-banner" role="note" aria-label="Sandbox"><strong>SANDBOX<\/strong>/);
    expect(html).toContain('no real money moves');
  });

  it('is accessible: language, viewport, landmarks, one heading, labelled buttons', () => {
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toMatch(/<header class="bank">[\s\S]*<main>[\s\S]*<\/main>[\s\S]*<footer>/);
    expect(html.match(/<h1>/g)).toHaveLength(1);
    expect(html).toContain('button:focus-visible');
  });

  it('is still the plain form tests and headless browsers drive, with nothing loaded from elsewhere and no script', () => {
    expect(html).toContain('<form method="post">');
    expect(html).toContain('<button type="submit" name="decision" value="approve" id="approve">Approve</button>');
    expect(html).toContain('<button type="submit" name="decision" value="deny" id="deny">Deny</button>');
    expect(html).not.toMatch(/<script|<link|src=|@import|url\(/i);
  });
});

test('what the PSU must recognise is shown, escaped, with the account masked', () => {
  const [, html] = PAGES[0];
  expect(html).toContain('<dd id="amount">142.66 EUR</dd>');
  expect(html).toContain('Enterprise &lt;GmbH&gt;');
  expect(html).toContain('NL91 •••• 4300');
  expect(html).not.toContain('NL91ABNA0417164300');
  expect(PAGES[2][1]).toContain('<dd id="debit-limit">12.50 EUR</dd>');
});

test('messages use the same page, and titles are escaped', () => {
  expect(renderScaMessage('Done', 'SCA finalised.')).toMatch(/<h1>Done<\/h1>\n<p>SCA finalised\.<\/p>/);
  expect(renderConsentMessage('Access approved', 'You may close this window.')).toContain('Clearway Sandbox ASE');
  expect(renderTestModePage({ institution: 'B', protocol: 'P', title: '<x>', body: '' })).toContain('<h1>&lt;x&gt;</h1>');
});
