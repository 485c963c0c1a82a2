import { backoffDelay, DEFAULT_BACKOFF } from '../mllp/backoff';
import type { BackoffOptions } from '../mllp/backoff';
import { IntegrationError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import type { FhirAuth } from './auth';
import { FhirConnectionError, FhirHttpError, FhirResourceError, FhirResponseError, FhirTimeoutError } from './errors';
import { defaultFetch } from './fetch-types';
import type { FetchFn } from './fetch-types';

export interface FhirIdentifier {
  system: string;
  value: string;
}

/** Any FHIR R4 resource; only the members the client needs are typed. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string };
  identifier?: { system?: string; value?: string }[];
  [key: string]: unknown;
}

export interface SaveResult<T extends FhirResource = FhirResource> {
  /** The resource as the server holds it (or as sent, when the server returns no body). */
  resource: T;
  id: string;
  versionId?: string;
  /** True when this call created it; false when it already existed (conditional create) or was updated. */
  created: boolean;
  status: number;
}

/** What emr-out needs from the EMR core's FHIR API. */
export interface FhirClient {
  /**
   * Create the resource unless one with the business identifier exists
   * (FHIR R4 conditional create, `If-None-Exist`, http.html#ccreate). Retrying
   * it, here or by a queue, never makes a duplicate.
   * @param resource - Observation, DiagnosticReport, Appointment, PaymentNotice…
   * @param identifier - default: `resource.identifier[0]`
   */
  createOnce<T extends FhirResource>(resource: T, identifier?: FhirIdentifier): Promise<SaveResult<T>>;
  /**
   * Create or replace the resource found by business identifier (conditional
   * update, `PUT [type]?identifier=…`, http.html#cond-update). For resources
   * that change: appointments, corrected results.
   * @param resource - the full new state
   * @param identifier - default: `resource.identifier[0]`
   */
  upsert<T extends FhirResource>(resource: T, identifier?: FhirIdentifier): Promise<SaveResult<T>>;
  /**
   * Replace a resource by its server id (`PUT [type]/[id]`).
   * @param resource - must carry `id`
   */
  update<T extends FhirResource>(resource: T): Promise<SaveResult<T>>;
  /**
   * Search by business identifier.
   * @param type - resource type
   * @param identifier - system and value
   */
  searchByIdentifier(type: string, identifier: FhirIdentifier): Promise<FhirResource[]>;
  /**
   * The Patient with this identifier (MRN), or null when there is none.
   * @param identifier - system and value
   * @throws FhirHttpError PROVIDER (412-like, not retryable) when several patients match
   */
  findPatientByIdentifier(identifier: FhirIdentifier): Promise<FhirResource | null>;
  /**
   * Search with any FHIR search parameters (POST `_search`, so values stay out of URLs).
   * @param type - resource type
   * @param params - search parameters, e.g. `{ patient: 'Patient/7', status: 'active' }`
   */
  search(type: string, params: Record<string, string>): Promise<FhirResource[]>;
  close(): Promise<void>;
}

export interface FhirClientOptions {
  /** Service base URL, e.g. `https://emr.example/fhir/R4`. */
  baseUrl: string;
  /** Per-request deadline. Default 15000. */
  timeoutMs?: number;
  /** Attempts for retryable failures (first included). Default 3. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
}

export interface FhirClientDeps {
  auth?: FhirAuth;
  fetch?: FetchFn;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: Logger;
}

const FHIR_JSON = 'application/fhir+json';

/** FHIR R4 REST client on fetch, with retries for retryable failures and one token refresh on 401. */
export class FhirRestClient implements FhirClient {
  private readonly base: string;
  private readonly fetch: FetchFn;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly peer: string;
  private closed = false;
  private readonly inflight = new Set<AbortController>();

  constructor(
    private readonly options: FhirClientOptions,
    private readonly deps: FhirClientDeps = {},
  ) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.peer = new URL(this.base).host;
    this.fetch = deps.fetch ?? defaultFetch;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.logger = deps.logger ?? silentLogger;
  }

  async createOnce<T extends FhirResource>(resource: T, identifier?: FhirIdentifier): Promise<SaveResult<T>> {
    const type = resourceTypeOf(resource);
    const id = identifier ?? identifierOf(resource);
    const res = await this.exchange('POST', `/${type}`, type, { body: resource, headers: { 'if-none-exist': `identifier=${token(id)}` } });
    // 201: created; 200: a match existed and nothing was created (R4 http.html#ccreate); 412: several matched.
    return this.saved(res, resource, res.status === 201);
  }

  async upsert<T extends FhirResource>(resource: T, identifier?: FhirIdentifier): Promise<SaveResult<T>> {
    const type = resourceTypeOf(resource);
    const id = identifier ?? identifierOf(resource);
    const res = await this.exchange('PUT', `/${type}?identifier=${encodeURIComponent(token(id))}`, type, { body: withoutId(resource) });
    return this.saved(res, resource, res.status === 201);
  }

  async update<T extends FhirResource>(resource: T): Promise<SaveResult<T>> {
    const type = resourceTypeOf(resource);
    if (!resource.id) throw new FhirResourceError(`${type} has no id to update`, 'id');
    const res = await this.exchange('PUT', `/${type}/${encodeURIComponent(resource.id)}`, type, { body: resource });
    return this.saved(res, resource, res.status === 201);
  }

  async searchByIdentifier(type: string, identifier: FhirIdentifier): Promise<FhirResource[]> {
    return this.search(type, { identifier: token(identifier) });
  }

  async search(type: string, params: Record<string, string>): Promise<FhirResource[]> {
    if (!/^[A-Z][A-Za-z]+$/.test(type)) throw new FhirResourceError('resource type is not a FHIR type name', 'resourceType');
    // POST _search keeps the identifier (an MRN) out of URLs, which proxies and servers log.
    const res = await this.exchange('POST', `/${type}/_search`, type, { form: params });
    const bundle = res.json as { resourceType?: string; entry?: { resource?: FhirResource; search?: { mode?: string } }[] } | undefined;
    if (!bundle || bundle.resourceType !== 'Bundle') throw new FhirResponseError(`search of ${type} on ${this.peer} did not return a Bundle`);
    return (bundle.entry ?? []).filter((e) => e.resource && (e.search?.mode ?? 'match') === 'match').map((e) => e.resource as FhirResource);
  }

  async findPatientByIdentifier(identifier: FhirIdentifier): Promise<FhirResource | null> {
    const found = await this.searchByIdentifier('Patient', identifier);
    if (found.length > 1) throw new FhirHttpError(`${found.length} patients match one identifier of system ${identifier.system}`, 412, ['multiple-matches']);
    return found[0] ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.inflight) c.abort();
    this.inflight.clear();
  }

  private saved<T extends FhirResource>(res: Exchange, sent: T, created: boolean): SaveResult<T> {
    const body = res.json as T | undefined;
    const fromLocation = parseLocation(res.location);
    const resource = body && body.resourceType === sent.resourceType ? body : sent;
    const id = resource.id ?? fromLocation.id;
    if (!id) throw new FhirResponseError(`${sent.resourceType} saved on ${this.peer} but the answer names no id`);
    const versionId = resource.meta?.versionId ?? fromLocation.versionId;
    return { resource, id, ...(versionId ? { versionId } : {}), created, status: res.status };
  }

  /** One logical request: retries retryable failures with backoff, refreshes the token once on 401. */
  private async exchange(method: string, path: string, type: string, payload: { body?: unknown; form?: Record<string, string>; headers?: Record<string, string> }): Promise<Exchange> {
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 3);
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await this.once(method, path, type, payload);
        this.logger.debug('fhir request', { peer: this.peer, method, type, status: res.status, attempts: attempt });
        return res;
      } catch (err) {
        const e = err instanceof IntegrationError ? err : new FhirConnectionError(`FHIR ${method} ${type} on ${this.peer} failed`, { cause: err });
        if (e instanceof FhirHttpError && e.status === 401 && this.deps.auth && !refreshed) {
          // An expired or revoked token: fetch a new one and try once more, outside the retry budget.
          refreshed = true;
          this.deps.auth.invalidate();
          attempt--;
          continue;
        }
        if (!e.retryable || attempt >= maxAttempts || this.closed) {
          this.logger.warn('fhir request failed', { peer: this.peer, method, type, attempts: attempt, status: e instanceof FhirHttpError ? e.status : undefined, ...summarizeError(e) });
          throw e;
        }
        const delay = backoffDelay(attempt - 1, { ...DEFAULT_BACKOFF, ...this.options.backoff }, this.random);
        this.logger.warn('fhir request retrying', { peer: this.peer, method, type, attempts: attempt, delayMs: delay, ...summarizeError(e) });
        await this.sleep(delay);
      }
    }
  }

  private async once(method: string, path: string, type: string, payload: { body?: unknown; form?: Record<string, string>; headers?: Record<string, string> }): Promise<Exchange> {
    if (this.closed) throw new FhirConnectionError(`FHIR client for ${this.peer} is closed`);
    const headers: Record<string, string> = { accept: FHIR_JSON, prefer: 'return=representation', ...payload.headers };
    let body: string | undefined;
    if (payload.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(payload.form).toString();
    } else if (payload.body !== undefined) {
      headers['content-type'] = FHIR_JSON;
      body = JSON.stringify(payload.body);
    }
    const authorization = await this.deps.auth?.authorization();
    if (authorization) headers.authorization = authorization;

    const timeoutMs = this.options.timeoutMs ?? 15_000;
    const controller = new AbortController();
    this.inflight.add(controller);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    let status: number;
    let text: string;
    let location: string | null;
    try {
      const res = await this.fetch(`${this.base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}), signal: controller.signal });
      status = res.status;
      location = res.headers.get('location') ?? res.headers.get('content-location');
      text = await res.text();
    } catch (err) {
      if (timedOut) throw new FhirTimeoutError(`FHIR ${method} ${type} on ${this.peer}: no answer within ${timeoutMs} ms`, timeoutMs, { cause: err });
      throw new FhirConnectionError(`FHIR ${method} ${type} on ${this.peer}: connection failed`, { cause: err });
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
    let json: unknown;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text) as unknown;
      } catch (err) {
        if (status >= 200 && status < 300) throw new FhirResponseError(`FHIR ${method} ${type} on ${this.peer}: answer is not JSON`, { cause: err });
      }
    }
    if (status < 200 || status >= 300) {
      throw new FhirHttpError(`FHIR ${method} ${type} on ${this.peer}: HTTP ${status}`, status, issueCodes(json));
    }
    return { status, json, location };
  }
}

interface Exchange {
  status: number;
  json: unknown;
  location: string | null;
}

function resourceTypeOf(resource: FhirResource): string {
  if (typeof resource?.resourceType !== 'string' || !/^[A-Z][A-Za-z]+$/.test(resource.resourceType)) {
    throw new FhirResourceError('resource has no valid resourceType', 'resourceType');
  }
  return resource.resourceType;
}

function identifierOf(resource: FhirResource): FhirIdentifier {
  const first = resource.identifier?.find((i) => i.system && i.value);
  if (!first?.system || !first.value) {
    throw new FhirResourceError(`${resource.resourceType} has no business identifier (system and value) for a conditional write`, 'identifier');
  }
  return { system: first.system, value: first.value };
}

/** FHIR token search parameter `system|value`, with `|`, `,`, `$` and `\` escaped (search.html#escaping). */
function token(id: FhirIdentifier): string {
  const esc = (s: string): string => s.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return `${esc(id.system)}|${esc(id.value)}`;
}

/** A conditional update must not carry an id the server did not assign. */
function withoutId<T extends FhirResource>(resource: T): T {
  const { id: _id, ...rest } = resource;
  return rest as T;
}

function parseLocation(location: string | null): { id?: string; versionId?: string } {
  const m = location ? /\/([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?\/?$/.exec(location) : null;
  return m ? { id: m[2], ...(m[3] ? { versionId: m[3] } : {}) } : {};
}

function issueCodes(json: unknown): string[] {
  const outcome = json as { resourceType?: string; issue?: { code?: unknown }[] } | undefined;
  if (outcome?.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return [];
  return outcome.issue.map((i) => (typeof i.code === 'string' ? i.code : '')).filter((c) => /^[a-z-]{1,40}$/.test(c));
}
