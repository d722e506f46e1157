/**
 * A reverse proxy in front of a sandbox bank that makes some requests time out: the request is
 * forwarded (the bank does the work) but the answer is held back past the client's deadline and the
 * connection is then dropped, so the client cannot know what happened. This is the fault the
 * sandboxes' own injectors do not have (theirs answer 503 at once); 5xx, 429 and lost answers stay
 * with the sandboxes (`SandboxFaults`).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxyOptions {
  /** 0..1: share of matching requests that time out. */
  timeoutRate: number;
  /** How long an answer is held before the connection is dropped; longer than the client's timeout. */
  holdMs: number;
  /** Which requests may time out (e.g. the protocol API, not the sandbox's controls). */
  applies: (method: string, path: string) => boolean;
  random?: () => number;
}

export interface FaultProxy {
  url: string;
  /** Where requests go; settable after the proxy is up, so a sandbox can be told the proxy's URL first. */
  setTarget(origin: string): void;
  setTimeoutRate(rate: number): void;
  stats(): { requests: number; timedOut: number };
  close(): Promise<void>;
}

export async function startFaultProxy(opts: FaultProxyOptions): Promise<FaultProxy> {
  let target: URL | undefined;
  let timeoutRate = opts.timeoutRate;
  const random = opts.random ?? Math.random;
  const counts = { requests: 0, timedOut: 0 };
  const held = new Set<NodeJS.Timeout>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!target) {
      res.writeHead(502).end();
      return;
    }
    counts.requests += 1;
    const timesOut = timeoutRate > 0 && opts.applies(req.method ?? 'GET', req.url ?? '/') && random() < timeoutRate;
    if (timesOut) counts.timedOut += 1;
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (!timesOut) {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          return;
        }
        // The bank has acted; its answer never reaches the client.
        answer.resume();
        const timer = setTimeout(() => {
          held.delete(timer);
          req.socket.destroy();
        }, opts.holdMs);
        held.add(timer);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    setTarget: (origin) => (target = new URL(origin)),
    setTimeoutRate: (rate) => (timeoutRate = rate),
    stats: () => ({ ...counts }),
    close: async () => {
      for (const timer of held) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
