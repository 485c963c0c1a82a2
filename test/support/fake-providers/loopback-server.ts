import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as it went over the wire. */
export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  /** Objects are sent as JSON. */
  body?: unknown;
}

/** A scripted failure, answered before the route runs (so nothing is created). */
export interface InjectedFault {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Only requests whose path matches. */
  path?: RegExp;
  /** Let this many matching requests through first. */
  skip?: number;
}

export type Route = (req: RecordedRequest) => FakeResponse | 'reset';

/**
 * An HTTP server on 127.0.0.1, port 0, that records every request and
 * answers through one route function, like a provider would. Faults can be
 * queued (`failNext`) to answer the next matching requests with an error
 * before the route sees them.
 */
export class LoopbackServer {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: InjectedFault[] = [];
  private server: Server | null = null;
  private port = 0;

  /** @param route - the provider's behaviour */
  constructor(private readonly route: Route) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listeningPort(): number {
    return this.port;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const recorded: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, rawBody: Buffer.concat(chunks) };
        this.requests.push(recorded);
        const faultIndex = this.faults.findIndex((f) => !f.path || f.path.test(recorded.path));
        const skipping = faultIndex >= 0 && (this.faults[faultIndex]!.skip ?? 0) > 0;
        if (skipping) this.faults[faultIndex]!.skip! -= 1;
        if (faultIndex >= 0 && !skipping) {
          const [fault] = this.faults.splice(faultIndex, 1);
          respond(res, { status: fault!.status, headers: fault!.headers, body: fault!.body });
          return;
        }
        let answer: FakeResponse | 'reset';
        try {
          answer = this.route(recorded);
        } catch (err) {
          answer = { status: 500, body: { error: { message: `fake server bug: ${String(err)}` } } };
        }
        if (answer === 'reset') req.socket.destroy();
        else respond(res, answer);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /**
   * Answers the next matching request with this fault instead of the route.
   * @param fault - status, body and optional path filter
   */
  failNext(fault: InjectedFault): void {
    this.faults.push(fault);
  }

  /** Requests to a path (exact or pattern). */
  requestsTo(path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function respond(res: ServerResponse, answer: FakeResponse): void {
  const headers: Record<string, string> = { ...(answer.headers ?? {}) };
  let payload: string | Buffer = '';
  if (answer.body !== undefined) {
    if (typeof answer.body === 'string' || Buffer.isBuffer(answer.body)) payload = answer.body;
    else {
      payload = JSON.stringify(answer.body);
      headers['content-type'] ??= 'application/json';
    }
  }
  res.writeHead(answer.status, headers);
  res.end(payload);
}
