/**
 * Test-only helpers: a sandbox ASE on a fresh schema of the per-run test database, a client that
 * signs requests like the official one (with knobs to break the signature), the official client
 * in a child process, and the Open Payments specs for contract checks.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { parse as parseYaml } from 'yaml';
import { loadOpenApi, repoRoot } from '../../../test/support/openapi-contract';
import type { OpenPaymentsSandboxOptions } from './config';
import { fetchTrusting } from '../../../libs/adapters/open-payments/client';
import { createDevTls } from '../../../libs/security/dev-certificates';
import { signRequest, type Ed25519Jwk } from '../../../libs/security/http-signatures';
import { startOpenPaymentsSandbox, type RunningOpenPaymentsSandbox } from './index';

const SPECS = path.join(repoRoot, 'node_modules/@interledger/open-payments/dist/openapi/specs');

/**
 * The Open Payments 1.3 YAMLs put keywords next to `$ref` (e.g. list items:
 * `$ref: incoming-payment` with `additionalProperties: false`). Under JSON Schema 2020-12 both
 * apply, and `additionalProperties: false` without `properties` forbids every property, so no
 * instance could match; the official client's validator ignores such siblings (OpenAPI 3.0
 * semantics). We validate against a copy with `$ref` siblings removed, nothing else changed.
 */
function loadOpenPaymentsSpec(file: string) {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (typeof node !== 'object' || node === null) return node;
    const record = node as Record<string, unknown>;
    if (typeof record.$ref === 'string') return { $ref: record.$ref };
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, strip(v)]));
  };
  const document = strip(parseYaml(fs.readFileSync(path.join(SPECS, file), 'utf8')));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'op-specs-'));
  const target = path.join(dir, file.replace(/\.yaml$/, '.json'));
  fs.writeFileSync(target, JSON.stringify(document));
  return loadOpenApi(target);
}

export const rsSpec = loadOpenPaymentsSpec('resource-server.yaml');
export const asSpec = loadOpenPaymentsSpec('auth-server.yaml');
export const waSpec = loadOpenPaymentsSpec('wallet-address-server.yaml');

export interface TestKey {
  keyId: string;
  privateKey: KeyObject;
  jwk: Ed25519Jwk;
  pem: string;
}

export function newKey(keyId = `key-${randomBytes(4).toString('hex')}`): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const { x } = publicKey.export({ format: 'jwk' }) as { x: string };
  return {
    keyId,
    privateKey,
    jwk: { kid: keyId, kty: 'OKP', crv: 'Ed25519', x, alg: 'EdDSA', use: 'sig' },
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export interface TestAse extends RunningOpenPaymentsSandbox {
  schema: string;
  /** With `https`: the CA that signed the ASE's certificate (PEM and a file holding it). */
  ca?: { pem: string; file: string };
  /** fetch that trusts the ASE (its CA added to the system's, verification on). */
  fetch: typeof fetch;
  /** Stops the server and drops the schema. */
  dispose(): Promise<void>;
}

/** A sandbox ASE on a fresh schema; `https: true` serves it with a certificate from a throwaway dev CA. */
export async function startTestAse(options: Partial<OpenPaymentsSandboxOptions> & { https?: boolean } = {}): Promise<TestAse> {
  const databaseUrl = process.env.CLEARWAY_TEST_DATABASE_URL;
  if (!databaseUrl) throw new Error('CLEARWAY_TEST_DATABASE_URL is not set (jest globalSetup creates it)');
  const schema = `op_test_${randomBytes(5).toString('hex')}`;
  const { https, ...rest } = options;
  let ca: TestAse['ca'];
  let tls: { cert: string; key: string } | undefined;
  if (https) {
    const dev = await createDevTls(['127.0.0.1', 'localhost']);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'op-ca-')), 'ca.pem');
    fs.writeFileSync(file, dev.caPem);
    ca = { pem: dev.caPem, file };
    tls = { cert: dev.certPem, key: dev.keyPem };
  }
  const running = await startOpenPaymentsSandbox({ databaseUrl, schema, port: 0, ...(tls ? { tls } : {}), ...rest });
  return {
    ...running,
    schema,
    ...(ca ? { ca } : {}),
    fetch: ca ? fetchTrusting(ca.pem) : (...args) => fetch(...args),
    dispose: async () => {
      await running.close();
      const admin = new Client({ connectionString: databaseUrl });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

export interface SignedCall {
  method?: string;
  body?: unknown;
  token?: string;
  key: TestKey;
  /** Overrides applied after signing (to tamper with the request). */
  created?: number;
  mutateBody?: (body: string) => string;
  dropHeaders?: string[];
  extraHeaders?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary fields
}

/** A request signed like the official client does (sha-512 Content-Digest, label sig1, keyid + created). */
export async function signedCall(url: string, call: SignedCall): Promise<CallResult> {
  const method = call.method ?? (call.body === undefined ? 'GET' : 'POST');
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  const base: Record<string, string> = { Accept: 'application/json', ...(call.extraHeaders ?? {}) };
  if (call.token) base.Authorization = `GNAP ${call.token}`;
  if (body !== undefined) base['Content-Type'] = 'application/json';
  const headers = signRequest({ method, url, headers: base, body }, { privateKey: call.key.privateKey, keyId: call.key.keyId, created: call.created });
  for (const name of call.dropHeaders ?? []) delete headers[name];
  const sent = body !== undefined && call.mutateBody ? call.mutateBody(body) : body;
  // Keep Content-Length true to the bytes sent, so a tampered body fails on the digest, not on framing.
  if (sent !== undefined && sent !== body && headers['Content-Length']) headers['Content-Length'] = String(Buffer.byteLength(sent));
  const response = await fetch(url, { method, headers, body: sent });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
}

/** The official client in a child process (see official-client-bridge.ts). */
export class OfficialClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (line: { ok: boolean; result?: unknown; error?: unknown }) => void>();
  private nextId = 1;
  private stderr = '';

  constructor(walletAddressUrl: string, key: TestKey) {
    const script = path.join(repoRoot, 'dist/apps/sandbox/open-payments/official-client-bridge.js');
    this.child = spawn(process.execPath, [script], {
      cwd: repoRoot,
      env: { ...process.env, OP_WALLET_ADDRESS_URL: walletAddressUrl, OP_KEY_ID: key.keyId, OP_PRIVATE_KEY_PEM: key.pem },
    });
    this.child.stderr.on('data', (chunk) => (this.stderr += String(chunk)));
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: unknown };
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  /** Calls e.g. `grant.request`; rejects with the client's error (message, description, status, code). */
  call<T = any>(name: string, ...args: unknown[]): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`official client: ${name} timed out; stderr: ${this.stderr}`)), 20_000);
      this.pending.set(id, (message) => {
        clearTimeout(timer);
        if (message.ok) resolve(message.result as T);
        else reject(Object.assign(new Error(`official client ${name} failed: ${JSON.stringify(message.error)}`), { details: message.error }));
      });
      this.child.stdin.write(`${JSON.stringify({ id, call: name, args })}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

/**
 * Plays the person on the consent page: GET it (checking it shows what is asked), POST the
 * decision, and return where the browser is sent (the client's finish URI).
 */
export async function decideOnConsentPage(
  redirectUrl: string,
  decision: 'approve' | 'deny',
  fetchImpl: typeof fetch = fetch,
): Promise<{ page: string; location: string | null; status: number }> {
  const page = await fetchImpl(redirectUrl, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200 || !html.includes('name="decision"')) throw new Error(`consent page answered ${page.status}: ${html.slice(0, 200)}`);
  const posted = await fetchImpl(redirectUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision }).toString(),
    redirect: 'manual',
  });
  return { page: html, location: posted.headers.get('location'), status: posted.status };
}
