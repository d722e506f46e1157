import { randomUUID } from 'node:crypto';
import { PIS } from '../support/payments';
import { AIS, CONSENTS, consentBody } from '../support/consents';
import { PAYSERA_BIC } from '../support/paysera';
import { TestStack, eventually } from '../support/stack';
import { BankGrantRepository } from '../../libs/persistence/bank-grant.repository';
import { BankGrants } from '../../libs/security/bank-grants';
import { SecretBox } from '../../libs/security/secret-box';

/**
 * Clearway's worker presenting a QWAC that lacks PSP_PI (only PSP_AI) to the Paysera-profile bank:
 * the bank refuses every payment call with 401 ROLE_INVALID, and Clearway takes that as the final
 * refusal it is: the payment is rejected at once (403 SERVICE_BLOCKED for the client: Clearway's
 * certificate is not accepted for the service), the initiation is sent once and never retried.
 * Consents still work (the certificate has PSP_AI), and their short-lived access tokens are
 * refreshed by Clearway before reads.
 */
let stack: TestStack;

beforeAll(async () => {
  // Access tokens live 35 s: Clearway refreshes 30 s before expiry, so one refresh shows within a test.
  stack = await TestStack.start({ paysera: { accessTokenTtlSeconds: 35 }, worker: false });
  stack.config.bankTls = { ...stack.config.bankTls, clientCertificates: { qwac: await stack.paysera!.withRoles(['PSP_AI']) } };
  await stack.startWorker();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

test('a QWAC without PSP_PI: the bank refuses (401 ROLE_INVALID), the client gets 403 SERVICE_BLOCKED, the initiation is sent once and not retried', async () => {
  const token = await stack.token(await stack.newClient(), 'paymentinitiation private');
  const reference = `Role ${randomUUID().slice(0, 8)}`;
  const created = await stack.call('POST', `${PIS}/sepa-credit-transfers`, {
    token,
    headers: { 'X-BicFi': PAYSERA_BIC, 'PSU-IP-Address': '192.0.2.10', 'TPP-Redirect-URI': 'https://shop.example/paid' },
    body: { instructedAmount: { currency: 'EUR', amount: '4.20' }, creditorAccount: { iban: 'LT121000011101001000' }, creditorName: 'Vilnius Coffee UAB', remittanceInformationUnstructured: reference },
  });
  // The bank's refusal reaches the client as what it is: Clearway cannot offer the service at this
  // bank (403), in Clearway's words, with nothing of the bank's answer (its code, role names, text).
  expect(created.status).toBe(403);
  expect(created.body.tppMessages).toEqual([
    { category: 'ERROR', code: 'SERVICE_BLOCKED', text: expect.stringContaining("does not accept Clearway's certificate for payment initiation") },
  ]);
  expect(JSON.stringify(created.body)).not.toMatch(/ROLE_INVALID|PSP_PI|qcStatement|QTSP/);
  // The bank saw the initiation once and created nothing; a while later still once: a 4xx is never sent again.
  const initiations = () => stack.paysera!.sandbox.refusals.filter((r) => r.method === 'POST' && r.path.endsWith('/v1/payments/sepa-credit-transfers'));
  expect(initiations()).toEqual([expect.objectContaining({ code: 'ROLE_INVALID', requestId: expect.any(String) })]);
  await new Promise((r) => setTimeout(r, 3000));
  expect(initiations()).toHaveLength(1);
  expect(stack.paysera!.sandbox.payments.stats().payments.filter((p) => p.body.remittanceInformationUnstructured === reference)).toHaveLength(0);
}, 60_000);

test('the same certificate still has PSP_AI: a consent is created and offered for OAuth authorisation', async () => {
  const token = await stack.token(await stack.newClient(), 'accountinformation private');
  const created = await stack.call('POST', CONSENTS, {
    token,
    headers: { 'X-BicFi': PAYSERA_BIC, 'PSU-IP-Address': '192.0.2.20', 'TPP-Redirect-URI': 'https://shop.example/consented' },
    body: consentBody(),
  });
  expect(created.status).toBe(201);
  expect(new URL(created.body._links.scaRedirect.href).searchParams.get('client_id')).toMatch(/^PSDLT-BOL-/);
  // Reads before authorisation: the consent is not valid yet, whatever the token.
  const read = await eventually(async () => {
    const res = await stack.call('GET', `${AIS}`, { token, headers: { 'X-BicFi': PAYSERA_BIC, 'Consent-ID': created.body.consentId } });
    return res.status >= 400 ? res : undefined;
  });
  expect(read.status).toBe(401);
}, 60_000);

test('consent reads refresh an expiring access token (rotating refresh token), stored sealed again', async () => {
  const token = await stack.token(await stack.newClient(), 'accountinformation private');
  const created = await stack.call('POST', CONSENTS, {
    token,
    headers: { 'X-BicFi': PAYSERA_BIC, 'PSU-IP-Address': '192.0.2.20', 'TPP-Redirect-URI': 'https://shop.example/consented' },
    body: consentBody(),
  });
  expect(created.status).toBe(201);
  const { consentId } = created.body;
  // The PSU approves on the bank's page (a plain form; no browser needed here) and follows the redirect to Clearway.
  const link = created.body._links.scaRedirect.href as string;
  const browser = stack.paysera!.fetchAs(undefined);
  const form = new URLSearchParams(new URL(link).searchParams);
  form.set('decision', 'approve');
  const approved = await browser(link.split('?')[0]!, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString(), redirect: 'manual' });
  const callback = await fetch(approved.headers.get('location')!, { redirect: 'manual' });
  expect(callback.status).toBe(303);
  await eventually(async () => {
    const res = await stack.call('GET', `${CONSENTS}/${consentId}/status`, { token, headers: { 'X-BicFi': PAYSERA_BIC } });
    return res.body.consentStatus === 'valid';
  }, 60_000, 250);

  const grants = new BankGrants(new BankGrantRepository(stack.dataSource), new SecretBox(stack.config.keys.encryption));
  const first = (await grants.load('consent', consentId))!;
  expect(first.refreshToken).toBeDefined();
  // Past the refresh margin (expiry − 30 s): the next read refreshes first.
  await new Promise((r) => setTimeout(r, Math.max(0, first.expiresAt! - 30_000 - Date.now()) + 500));
  const read = await stack.call('GET', AIS, { token, headers: { 'X-BicFi': PAYSERA_BIC, 'Consent-ID': consentId, 'PSU-IP-Address': '192.0.2.20' } });
  expect(read.status).toBe(200);
  const second = (await grants.load('consent', consentId))!;
  expect(second.accessToken).not.toBe(first.accessToken);
  expect(second.refreshToken).not.toBe(first.refreshToken);
  expect(second.expiresAt!).toBeGreaterThan(first.expiresAt!);
}, 90_000);
