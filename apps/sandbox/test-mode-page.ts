/**
 * The look of every page a sandbox shows a person (SCA, consent, interaction): a bank's test-mode
 * page, simple and accessible, unmistakably marked SANDBOX. Still plain HTML with plain forms and
 * no JavaScript, so a person, a headless browser or a test doing GET then POST can use it; the
 * styles are inline (no external request, nothing to load from a CDN).
 */

export interface TestModePage {
  /** Who shows the page: `Clearway Sandbox Bank`, `Clearway Sandbox ASE`. */
  institution: string;
  /** The protocol it simulates, shown under the name. */
  protocol: string;
  /** The page's title and heading. */
  title: string;
  /** HTML of the page's content below the heading (already escaped by the caller). */
  body: string;
}

const STYLE = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #4d5561; --line: #d5d9df; --brand: #0b4f8a; --warn-bg: #fff4ce; --warn-ink: #5c4300; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f4f6f8; }
.sandbox-banner { background: var(--warn-bg); color: var(--warn-ink); border-bottom: 2px solid #e0b100; padding: .5rem 1rem; text-align: center; font-weight: 600; }
.sandbox-banner strong { letter-spacing: .08em; }
header.bank { background: var(--brand); color: #fff; padding: 1rem; }
header.bank .name { font-size: 1.25rem; font-weight: 700; margin: 0; }
header.bank .protocol { margin: 0; opacity: .9; font-size: .9rem; }
main { max-width: 34rem; margin: 1.5rem auto; padding: 1.5rem; background: #fff; border: 1px solid var(--line); border-radius: .5rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1rem; margin: 0 0 1.5rem; }
dt { color: var(--muted); }
dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
ul { padding-left: 1.25rem; }
form { display: flex; gap: .75rem; flex-wrap: wrap; }
button { font: inherit; font-weight: 600; padding: .75rem 1.5rem; border-radius: .375rem; border: 2px solid var(--brand); cursor: pointer; min-width: 8rem; }
button[value="approve"] { background: var(--brand); color: #fff; }
button[value="deny"] { background: #fff; color: var(--brand); }
button:focus-visible { outline: 3px solid #e0b100; outline-offset: 2px; }
footer { max-width: 34rem; margin: 0 auto 2rem; padding: 0 1rem; color: var(--muted); font-size: .875rem; text-align: center; }
`;

export function renderTestModePage(page: TestModePage): string {
  const institution = escapeHtml(page.institution);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>SANDBOX · ${escapeHtml(page.title)} · ${institution}</title>
<style>${STYLE}</style>
</head>
<body>
<div class="sandbox-banner" role="note" aria-label="Sandbox"><strong>SANDBOX</strong> · test mode: no real money moves and no real account is touched</div>
<header class="bank">
<p class="name">${institution}</p>
<p class="protocol">${escapeHtml(page.protocol)}</p>
</header>
<main>
<h1>${escapeHtml(page.title)}</h1>
${page.body}
</main>
<footer>${institution} is a simulated institution for testing Clearway. Do not enter real credentials.</footer>
</body>
</html>
`;
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Approve and Deny, the one form every sandbox page posts: `decision=approve|deny`. */
export const DECISION_FORM = `<form method="post">
  <button type="submit" name="decision" value="approve" id="approve">Approve</button>
  <button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form>`;
