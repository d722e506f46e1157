import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { centsOf } from '../../libs/domain/money';
import {
  readPain001,
  writePain002,
  type Pain001PaymentInformation,
  type Pain001ReadResult,
  type Pain001Transaction,
  type Pain002TransactionStatus,
} from '../../libs/iso20022';
import type { Batch, BatchBulk, BatchProgress, BatchStatus } from '../../apps/cli/batch-api';

/**
 * STAND-IN for the batch API, for the CLI's tests only, until the real one (apps/api, issue 7 §2)
 * lands; then the CLI's end-to-end test runs against the real stack instead. It follows the batch
 * contract's HTTP shape (token, upload with 201/200/409/400/413, status with progress, paged list,
 * pain.002 report, single payments) and reads uploads with the real libs/iso20022, but it fakes
 * the banks: each status read settles about half of what is left, transactions whose cents are 13
 * are rejected (AM04), as the sandbox bank does.
 */
export interface StandInRequest {
  method: string;
  path: string;
  requestId?: string;
  psuId?: string;
  contentLength?: string;
}

interface StoredBatch {
  batch: Batch;
  sha256: string;
  version: string;
  pmtInfs: Pain001PaymentInformation[];
  transactions: Pain001Transaction[];
  /** Transactions finished so far, in file order. */
  done: number;
}

export interface BatchApiStandIn {
  url: string;
  requests: StandInRequest[];
  close(): Promise<void>;
}

const MAX_BYTES = 50 * 1024 * 1024;
const SINGLE_ROUTE_BANKS = new Set(['SANDNL2AXXX']);

export async function startBatchApiStandIn(opts: { clientId?: string; clientSecret?: string } = {}): Promise<BatchApiStandIn> {
  const clientId = opts.clientId ?? 'sandbox';
  const clientSecret = opts.clientSecret ?? 'sandbox';
  const token = `stand-in-${randomUUID()}`;
  const batches = new Map<string, StoredBatch>();
  const requests: StandInRequest[] = [];

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => json(res, 500, { tppMessages: [{ category: 'ERROR', code: 'INTERNAL_SERVER_ERROR', text: String(err) }] }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push({
      method: req.method ?? '',
      path: url.pathname + url.search,
      requestId: header(req, 'x-request-id'),
      psuId: header(req, 'psu-id'),
      contentLength: header(req, 'content-length'),
    });
    if (req.method === 'POST' && url.pathname === '/connect/token') {
      const form = new URLSearchParams(await text(req));
      if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
        return json(res, 401, { error: 'invalid_client', error_description: 'Unknown client or wrong secret' });
      }
      return json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    }
    if (header(req, 'authorization') !== `Bearer ${token}`) return tpp(res, 401, 'TOKEN_INVALID', 'Authorization', 'bearer token required');
    if (!header(req, 'x-request-id')) return tpp(res, 400, 'FORMAT_ERROR', 'X-Request-ID', 'header is required');

    const parts = url.pathname.split('/').filter(Boolean); // batches, v1, batches, {id}, report|payments
    if (parts.slice(0, 3).join('/') !== 'batches/v1/batches') return tpp(res, 404, 'RESOURCE_UNKNOWN', undefined, 'no such endpoint');
    if (req.method === 'POST' && parts.length === 3) return submit(req, res);
    if (req.method !== 'GET') return tpp(res, 405, 'SERVICE_INVALID', undefined, 'method not allowed');
    if (parts.length === 3) return list(res, url);
    const stored = batches.get(parts[3]);
    if (!stored) return tpp(res, 404, 'RESOURCE_UNKNOWN', 'batchId', 'unknown batch');
    if (parts.length === 4) {
      advance(stored);
      return json(res, 200, stored.batch);
    }
    if (parts[4] === 'report') return report(res, stored);
    if (parts[4] === 'payments') return payments(res, stored, url);
    return tpp(res, 404, 'RESOURCE_UNKNOWN', undefined, 'no such endpoint');
  }

  async function submit(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^(application|text)\/xml\b/.test(header(req, 'content-type') ?? '')) return tpp(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type', 'application/xml expected');
    if (!header(req, 'psu-ip-address')) return tpp(res, 400, 'FORMAT_ERROR', 'PSU-IP-Address', 'header is required');
    if (Number(header(req, 'content-length') ?? 0) > MAX_BYTES) return tpp(res, 413, 'FORMAT_ERROR', 'Document', 'file larger than 50 MB');
    const pmtInfs: Pain001PaymentInformation[] = [];
    const transactions: Pain001Transaction[] = [];
    const result = await readPain001(req, {
      groupHeader() {},
      paymentInformation: (p) => void pmtInfs.push(p),
      transactions: (chunk) => void transactions.push(...chunk),
    });
    if (!result.ok) {
      const status = result.issues[0]?.kind === 'too_large' ? 413 : 400;
      return json(res, status, { tppMessages: result.issues.map((i) => ({ category: 'ERROR', code: 'FORMAT_ERROR', path: i.path, text: i.text })) });
    }
    const existing = [...batches.values()].find((b) => b.batch.msgId === result.groupHeader!.msgId);
    if (existing) {
      if (existing.sha256 !== result.sha256) return tpp(res, 409, 'PARAMETER_NOT_CONSISTENT', 'GrpHdr.MsgId', 'MsgId already used by another file');
      return json(res, 200, existing.batch, { Location: `/batches/v1/batches/${existing.batch.batchId}` });
    }
    const stored = newBatch(result, pmtInfs, transactions, header(req, 'psu-id'));
    batches.set(stored.batch.batchId, stored);
    json(res, 201, stored.batch, { Location: `/batches/v1/batches/${stored.batch.batchId}` });
  }

  function newBatch(result: Pain001ReadResult, pmtInfs: Pain001PaymentInformation[], transactions: Pain001Transaction[], psuId?: string): StoredBatch {
    const batchId = randomUUID();
    const decoupled = psuId === 'decoupled';
    const bulks: BatchBulk[] = result.paymentInformations.map((summary, i) => {
      const bicFi = pmtInfs[i].debtorAgentBic ?? 'SANDDEB0XXX';
      const product = pmtInfs[i].instant ? 'instant-sepa-credit-transfers' : 'sepa-credit-transfers';
      const paymentId = randomUUID();
      const single = SINGLE_ROUTE_BANKS.has(bicFi);
      return {
        pmtInfId: summary.pmtInfId,
        route: single ? 'single' : 'bulk',
        bicFi,
        paymentProduct: product,
        ...(single
          ? { payments: { count: summary.numberOfTransactions, href: `/batches/v1/batches/${batchId}/payments?pmtInfId=${encodeURIComponent(summary.pmtInfId)}` } }
          : { paymentId, transactionStatus: 'RCVD' }),
        numberOfTransactions: summary.numberOfTransactions,
        controlSum: summary.controlSum,
        scaApproach: decoupled ? 'DECOUPLED' : 'REDIRECT',
        ...(decoupled && { psuMessage: 'Please confirm the bulk payment in your banking app.' }),
        _links: {
          ...(!decoupled && !single && { scaRedirect: { href: `https://sandbox.example/sca/${paymentId}` } }),
          ...(!single && { status: { href: `/psd2/paymentinitiation/v1/bulk-payments/${product}/${paymentId}/status` } }),
        },
      };
    });
    const stored: StoredBatch = {
      batch: {
        batchId,
        msgId: result.groupHeader!.msgId,
        status: 'awaiting_authorisation',
        createdAt: new Date().toISOString(),
        numberOfTransactions: result.transactionCount,
        controlSum: result.controlSum,
        totals: result.totals,
        bulks,
        _links: { self: { href: `/batches/v1/batches/${batchId}` }, report: { href: `/batches/v1/batches/${batchId}/report` } },
      },
      sha256: result.sha256,
      version: result.version!,
      pmtInfs,
      transactions,
      done: 0,
    };
    refresh(stored);
    return stored;
  }

  /** Each status read finishes about half of what is left (at least one transaction). */
  function advance(stored: StoredBatch): void {
    const left = stored.transactions.length - stored.done;
    stored.done += Math.max(1, Math.ceil(left / 2));
    stored.done = Math.min(stored.done, stored.transactions.length);
    refresh(stored);
  }

  function outcome(tx: Pain001Transaction): 'settled' | 'rejected' {
    return centsOf(tx.amount) === '13' ? 'rejected' : 'settled';
  }

  function refresh(stored: StoredBatch): void {
    const total = zeroProgress(stored.transactions.length);
    const perBulk = stored.pmtInfs.map((p) => zeroProgress(stored.transactions.filter((t) => t.pmtInfIndex === p.index).length));
    stored.transactions.forEach((tx, i) => {
      const key = i < stored.done ? outcome(tx) : stored.done === 0 ? 'awaitingSca' : 'accepted';
      total[key] += 1;
      perBulk[tx.pmtInfIndex][key] += 1;
    });
    const b = stored.batch;
    b.progress = total;
    b.bulks?.forEach((bulk, i) => {
      bulk.progress = perBulk[i];
      if (bulk.route === 'bulk') bulk.transactionStatus = bulkStatusOf(perBulk[i], stored.done === 0);
    });
    b.status = statusOf(total, stored.done === 0);
  }

  function list(res: ServerResponse, url: URL): void {
    const limit = Number(url.searchParams.get('limit') ?? 50);
    const all = [...batches.values()].map((s) => s.batch).reverse();
    const after = url.searchParams.get('after');
    const start = after ? all.findIndex((b) => b.batchId === after) + 1 : 0;
    const page = all.slice(start, start + limit);
    const next = start + limit < all.length ? page[page.length - 1].batchId : undefined;
    json(res, 200, {
      batches: page.map(({ batchId, msgId, status, createdAt, numberOfTransactions, controlSum, progress }) => ({ batchId, msgId, status, createdAt, numberOfTransactions, controlSum, progress })),
      _links: next ? { next: { href: `/batches/v1/batches?limit=${limit}&after=${next}` } } : {},
    });
  }

  async function report(res: ServerResponse, stored: StoredBatch): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'application/xml' });
    const statusOfTx = (tx: Pain001Transaction, i: number): Pain002TransactionStatus => {
      const finished = i < stored.done ? outcome(tx) : undefined;
      return {
        originalEndToEndId: tx.endToEndId,
        status: finished === 'rejected' ? 'RJCT' : finished === 'settled' ? 'ACSC' : 'PDNG',
        ...(finished === 'rejected' && { reasonCode: 'AM04' }),
        amount: tx.amount,
        currency: tx.currency,
      };
    };
    await writePain002(
      res,
      {
        msgId: `RPT-${stored.batch.batchId.slice(0, 30)}`,
        creationDateTime: new Date(),
        originalMsgId: stored.batch.msgId,
        originalMsgNameId: stored.version,
        originalNumberOfTransactions: stored.transactions.length,
      },
      stored.pmtInfs.map((p) => ({
        info: { originalPmtInfId: p.pmtInfId },
        transactions: stored.transactions.map((t, i) => ({ t, i })).filter(({ t }) => t.pmtInfIndex === p.index).map(({ t, i }) => statusOfTx(t, i)),
      })),
    );
    res.end();
  }

  function payments(res: ServerResponse, stored: StoredBatch, url: URL): void {
    const pmtInf = stored.pmtInfs.find((p) => p.pmtInfId === url.searchParams.get('pmtInfId'));
    if (!pmtInf) return tpp(res, 404, 'RESOURCE_UNKNOWN', 'pmtInfId', 'unknown PmtInfId');
    const limit = Number(url.searchParams.get('limit') ?? 2);
    const start = Number(url.searchParams.get('after') ?? 0);
    const txs = stored.transactions.filter((t) => t.pmtInfIndex === pmtInf.index);
    const page = txs.slice(start, start + limit);
    json(res, 200, {
      payments: page.map((t) => ({
        endToEndId: t.endToEndId,
        paymentId: `single-${t.pmtInfIndex}-${t.index}`,
        transactionStatus: 'RCVD',
        _links: { scaRedirect: { href: `https://sandbox.example/sca/single-${t.pmtInfIndex}-${t.index}` } },
      })),
      _links: start + limit < txs.length ? { next: { href: `${url.pathname}?pmtInfId=${encodeURIComponent(pmtInf.pmtInfId)}&limit=${limit}&after=${start + limit}` } } : {},
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function zeroProgress(total: number): BatchProgress {
  return { total, received: 0, awaitingSca: 0, accepted: 0, settled: 0, rejected: 0, cancelled: 0 };
}

function statusOf(p: BatchProgress, awaitingSca: boolean): BatchStatus {
  if (awaitingSca) return 'awaiting_authorisation';
  if (p.settled + p.rejected < p.total) return 'processing';
  if (p.rejected === 0) return 'completed';
  return p.settled === 0 ? 'rejected' : 'partially_completed';
}

/** The bulk's Berlin Group transactionStatus, as the bank would report it. */
function bulkStatusOf(p: BatchProgress, awaitingSca: boolean): string {
  if (awaitingSca) return 'RCVD';
  if (p.settled + p.rejected < p.total) return 'ACSP';
  if (p.rejected === 0) return 'ACSC';
  return p.settled === 0 ? 'RJCT' : 'PATC';
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function tpp(res: ServerResponse, status: number, code: string, path: string | undefined, text: string): void {
  json(res, status, { tppMessages: [{ category: 'ERROR', code, ...(path && { path }), text }] });
}
