/**
 * A scriptable local "bank" for adapter unit tests: each test says how it answers (`bank.responder`)
 * and inspects what it received (`bank.requests`). Registers its own jest hooks: listens before
 * the file's tests, answers 500 and forgets the recorded requests before each test, closes after.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
export type Responder = (req: RecordedRequest, res: ServerResponse) => void;

export interface ScriptedBank {
  readonly requests: RecordedRequest[];
  responder: Responder;
  /** `http://127.0.0.1:<port>`, set once the file's `beforeAll` hooks have run. */
  readonly origin: string;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const failing: Responder = (_req, res) => json(res, 500, {});

export function useScriptedBank(): ScriptedBank {
  let origin = '';
  const bank: ScriptedBank = {
    requests: [],
    responder: failing,
    get origin() {
      return origin;
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      bank.requests.push(recorded);
      bank.responder(recorded, res);
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    bank.requests.length = 0;
    bank.responder = failing;
  });
  return bank;
}
