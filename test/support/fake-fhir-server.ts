import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback stand-in for the EMR core's FHIR R4 API: enough of the REST
 * semantics to test the client honestly (conditional create with
 * If-None-Exist, conditional update, identifier search, versioning), an
 * OAuth2 client-credentials token endpoint, and fault injection.
 */
export interface FakeFhirOptions {
  /** `bearer`: one static token; `oauth`: tokens from /token; `none`. */
  auth: 'bearer' | 'oauth' | 'none';
  staticToken?: string;
  clientId?: string;
  clientSecret?: string;
  /** expires_in of issued tokens, seconds. */
  tokenTtlSeconds?: number;
  /** Listening port; default 0 (any free port). The demo EMR uses a fixed one so a hub can be pointed at it. */
  port?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

type Resource = { resourceType: string; id: string; meta: { versionId: string; lastUpdated: string }; identifier?: { system?: string; value?: string }[]; [k: string]: unknown };

export interface FakeFhirServer {
  baseUrl: string;
  tokenUrl: string;
  requests: RecordedRequest[];
  tokenRequests(): number;
  /** Resources of a type as stored. */
  all(type: string): Resource[];
  /** Store a resource directly (test setup). */
  seed(resource: Record<string, unknown> & { resourceType: string }): Resource;
  /** Answer the next `count` FHIR requests with `status` (and an OperationOutcome). */
  failNext(count: number, status: number): void;
  /** FHIR requests answered with an injected failure so far. */
  injectedFailures(): number;
  /** Process the next FHIR request fully, then destroy the socket without answering: a lost response. */
  dropResponseNext(): void;
  /** Never answer the next FHIR request (the client must time out). */
  hangNext(): void;
  /** Invalidate every issued OAuth token (the next request gets 401). */
  revokeTokens(): void;
  close(): Promise<void>;
}

export async function startFakeFhirServer(options: FakeFhirOptions): Promise<FakeFhirServer> {
  const store = new Map<string, Map<string, Resource>>();
  const requests: RecordedRequest[] = [];
  const tokens = new Set<string>();
  const sockets = new Set<Socket>();
  let tokenCount = 0;
  let injected = 0;
  let failures: { count: number; status: number } | null = null;
  let drop = false;
  let hang = false;
  let nextId = 1;

  const bucket = (type: string): Map<string, Resource> => {
    let b = store.get(type);
    if (!b) store.set(type, (b = new Map()));
    return b;
  };
  const put = (type: string, body: Record<string, unknown>, id: string, version: number): Resource => {
    const r: Resource = { ...(body as object), resourceType: type, id, meta: { versionId: String(version), lastUpdated: new Date().toISOString() } } as Resource;
    bucket(type).set(id, r);
    return r;
  };
  const byIdentifier = (type: string, tokenParam: string): Resource[] => {
    const sep = tokenParam.search(/(?<!\\)\|/);
    const unescape = (s: string): string => s.replace(/\\([\\|,$])/g, '$1');
    const system = sep >= 0 ? unescape(tokenParam.slice(0, sep)) : undefined;
    const value = unescape(sep >= 0 ? tokenParam.slice(sep + 1) : tokenParam);
    return [...bucket(type).values()].filter((r) => (r.identifier ?? []).some((i) => i.value === value && (system === undefined || i.system === system)));
  };

  const send = (res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void => {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
    res.end(text);
  };
  const outcome = (code: string, diagnostics: string): unknown => ({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] });

  const handleToken = (req: IncomingMessage, body: string, res: ServerResponse): void => {
    tokenCount++;
    const params = new URLSearchParams(body);
    const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const [id, secret] = basic
      ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent)
      : [params.get('client_id') ?? '', params.get('client_secret') ?? ''];
    if (params.get('grant_type') !== 'client_credentials') return send(res, 400, { error: 'unsupported_grant_type' });
    if (id !== options.clientId || secret !== options.clientSecret) return send(res, 401, { error: 'invalid_client' });
    const token = randomBytes(16).toString('hex');
    tokens.add(token);
    send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: options.tokenTtlSeconds ?? 3600 });
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (options.auth === 'none') return true;
    const m = /^Bearer (\S+)$/.exec(String(req.headers.authorization ?? ''));
    if (!m) return false;
    return options.auth === 'bearer' ? m[1] === options.staticToken : tokens.has(m[1]!);
  };

  const handleFhir = (req: IncomingMessage, url: URL, body: string, res: ServerResponse): void => {
    if (!authorized(req)) return send(res, 401, outcome('login', 'unauthorized'));
    if (failures && failures.count > 0) {
      failures.count--;
      injected++;
      return send(res, failures.status, outcome(failures.status >= 500 ? 'transient' : 'invalid', 'injected failure'));
    }
    const parts = url.pathname.replace(/^\/fhir\/?/, '').split('/').filter(Boolean);
    const type = parts[0] ?? '';
    const json = (): Record<string, unknown> => JSON.parse(body) as Record<string, unknown>;

    if (req.method === 'POST' && parts.length === 2 && parts[1] === '_search') {
      const form = new URLSearchParams(body);
      const identifier = form.get('identifier');
      const patient = form.get('patient');
      const status = form.get('status');
      const matches = (identifier ? byIdentifier(type, identifier) : [...bucket(type).values()])
        .filter((r) => patient === null || (r.patient as { reference?: string } | undefined)?.reference === patient)
        .filter((r) => status === null || r.status === status);
      return send(res, 200, { resourceType: 'Bundle', type: 'searchset', total: matches.length, entry: matches.map((r) => ({ fullUrl: `${url.origin}/fhir/${type}/${r.id}`, resource: r, search: { mode: 'match' } })) });
    }
    if (req.method === 'GET' && parts.length === 1) {
      const identifier = url.searchParams.get('identifier');
      const matches = identifier ? byIdentifier(type, identifier) : [...bucket(type).values()];
      return send(res, 200, { resourceType: 'Bundle', type: 'searchset', total: matches.length, entry: matches.map((r) => ({ resource: r, search: { mode: 'match' } })) });
    }
    if (req.method === 'GET' && parts.length === 2) {
      const r = bucket(type).get(parts[1]!);
      return r ? send(res, 200, r) : send(res, 404, outcome('not-found', 'no such resource'));
    }
    if (req.method === 'POST' && parts.length === 1) {
      const resource = json();
      if (resource.resourceType !== type) return send(res, 400, outcome('invalid', 'resourceType does not match the URL'));
      const cond = req.headers['if-none-exist'];
      if (typeof cond === 'string') {
        const identifier = new URLSearchParams(cond).get('identifier');
        const matches = identifier ? byIdentifier(type, identifier) : [];
        if (matches.length > 1) return send(res, 412, outcome('multiple-matches', 'several resources match'));
        if (matches.length === 1) return send(res, 200, matches[0]);
      }
      const r = put(type, resource, String(nextId++), 1);
      return send(res, 201, r, { location: `${url.origin}/fhir/${type}/${r.id}/_history/1` });
    }
    if (req.method === 'PUT' && parts.length === 1) {
      const identifier = url.searchParams.get('identifier');
      if (!identifier) return send(res, 400, outcome('invalid', 'conditional update needs search criteria'));
      const matches = byIdentifier(type, identifier);
      if (matches.length > 1) return send(res, 412, outcome('multiple-matches', 'several resources match'));
      if (matches.length === 0) {
        const r = put(type, json(), String(nextId++), 1);
        return send(res, 201, r, { location: `${url.origin}/fhir/${type}/${r.id}/_history/1` });
      }
      const existing = matches[0]!;
      const r = put(type, json(), existing.id, Number(existing.meta.versionId) + 1);
      return send(res, 200, r);
    }
    if (req.method === 'PUT' && parts.length === 2) {
      const existing = bucket(type).get(parts[1]!);
      const r = put(type, json(), parts[1]!, existing ? Number(existing.meta.versionId) + 1 : 1);
      return send(res, existing ? 200 : 201, r);
    }
    send(res, 405, outcome('not-supported', 'operation not supported'));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: req.headers, body });
      if (url.pathname === '/token' && req.method === 'POST') return handleToken(req, body, res);
      if (hang) {
        hang = false;
        return; // never answer
      }
      if (drop) {
        drop = false;
        // Run the request to completion (it takes effect), then lose the answer.
        const sink = { writeHead: () => sink, end: () => req.socket.destroy() } as unknown as ServerResponse;
        return handleFhir(req, url, body, sink);
      }
      handleFhir(req, url, body, res);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl: `${origin}/fhir`,
    tokenUrl: `${origin}/token`,
    requests,
    tokenRequests: () => tokenCount,
    all: (type) => [...bucket(type).values()],
    seed: (resource) => put(resource.resourceType, resource, String(nextId++), 1),
    failNext: (count, status) => {
      failures = { count, status };
    },
    injectedFailures: () => injected,
    dropResponseNext: () => {
      drop = true;
    },
    hangNext: () => {
      hang = true;
    },
    revokeTokens: () => tokens.clear(),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
