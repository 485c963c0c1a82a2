import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The demo's view of a running hub, through its public HTTP API only:
 * login, a short-lived API token, the http-in endpoints, message search,
 * queue depths and the monitor snapshot.
 */

export interface StoredMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  endpoint: string | null;
  controlId: string | null;
  messageType: string | null;
  status: string;
}

export interface QueueDepth {
  queue: string;
  ready: number;
  delayed: number;
  inFlight: number;
  dead: number;
  /** Settings the queue's consumer waits for; null when it consumes. */
  waitingFor: string[] | null;
}

export class DemoSetupError extends Error {}

/**
 * The admin password: HUB_ADMIN_PASSWORD, or the file the hub writes on its
 * first start (`<HUB_DATA_DIR or ./data>/admin-password.txt`).
 *
 * @param env - the demo's environment
 */
export function adminPassword(env: NodeJS.ProcessEnv): string {
  if (env.HUB_ADMIN_PASSWORD) return env.HUB_ADMIN_PASSWORD;
  const file = join(resolve(env.HUB_DATA_DIR ?? 'data'), 'admin-password.txt');
  if (!existsSync(file)) {
    throw new DemoSetupError(`no admin password: set HUB_ADMIN_PASSWORD, or run the demo from the hub's directory so it can read ${file} (written by the hub's first start)`);
  }
  return readFileSync(file, 'utf8').trim();
}

export class DemoHub {
  private session = '';
  private apiToken = '';
  private tokenId = '';

  constructor(readonly url: string) {}

  /**
   * Log in as admin, then create the demo's own API token (viewer: it posts
   * to the http-in endpoints and reads message metadata, never bodies).
   *
   * @param password - the admin password
   */
  async connect(password: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    } catch {
      throw new DemoSetupError(`no hub at ${this.url}: start it first (npm start), or pass --hub URL`);
    }
    if (res.status !== 200) throw new DemoSetupError(`login as admin at ${this.url} failed (HTTP ${res.status}): check HUB_ADMIN_PASSWORD`);
    this.session = ((await res.json()) as { token: string }).token;
    const created = await fetch(`${this.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.session}` },
      body: JSON.stringify({ name: `demo ${new Date().toISOString().slice(0, 19).replace(/\D/g, '')}`, role: 'viewer', expiresInDays: 1 }),
    });
    if (created.status !== 201) throw new DemoSetupError(`could not create the demo's API token (HTTP ${created.status})`);
    const body = (await created.json()) as { id: string; token: string };
    this.apiToken = body.token;
    this.tokenId = body.id;
  }

  /** Revoke the demo's API token and log out. Safe to call more than once. */
  async disconnect(): Promise<void> {
    const auth = { authorization: `Bearer ${this.session}` };
    if (this.tokenId) await fetch(`${this.url}/api/v1/tokens/${this.tokenId}`, { method: 'DELETE', headers: auth }).catch(() => undefined);
    if (this.session) await fetch(`${this.url}/api/v1/auth/logout`, { method: 'POST', headers: auth }).catch(() => undefined);
    this.tokenId = '';
    this.session = '';
  }

  /**
   * POST a message to one of the flows' http-in endpoints with the demo's token.
   *
   * @param path - below the http-in root, e.g. `/in/billing/dft`
   * @param body - HL7 text
   * @returns the HTTP status and the hub message id of a 202
   */
  async postIn(path: string, body: string): Promise<{ status: number; id: string | null }> {
    const res = await fetch(`${this.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${this.apiToken}`, 'content-type': 'text/plain' }, body });
    const text = await res.text();
    let id: string | null = null;
    try {
      const parsed = JSON.parse(text) as { id?: unknown; hubMessageId?: unknown };
      id = typeof parsed.id === 'string' ? parsed.id : typeof parsed.hubMessageId === 'string' ? parsed.hubMessageId : null;
    } catch {
      // not JSON: keep the status only
    }
    return { status: res.status, id };
  }

  /**
   * Every stored message of an endpoint and direction since `from`, paged
   * through (`/api/v1/messages` lists at most 500 a page).
   */
  async messages(filter: { endpoint: string; direction: 'inbound' | 'outbound'; from: Date }): Promise<StoredMessage[]> {
    const all: StoredMessage[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ endpoint: filter.endpoint, direction: filter.direction, from: filter.from.toISOString(), limit: '500' });
      if (cursor) q.set('cursor', cursor);
      const page = (await this.getJson(`/api/v1/messages?${q.toString()}`)) as { items: StoredMessage[]; nextCursor: string | null };
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }

  /** Queue depths, with what each queue waits for (from the monitor snapshot). */
  async queues(): Promise<QueueDepth[]> {
    const [stats, snapshot] = await Promise.all([
      this.getJson('/api/v1/queues') as Promise<{ items: Omit<QueueDepth, 'waitingFor'>[] }>,
      this.getJson('/api/v1/monitor/snapshot').catch(() => ({ queues: [] })) as Promise<{ queues: { queue: string; waitingFor: string[] | null }[] | null }>,
    ]);
    const waiting = new Map((snapshot.queues ?? []).map((q) => [q.queue, q.waitingFor]));
    return stats.items.map((q) => ({ queue: q.queue, ready: q.ready, delayed: q.delayed, inFlight: q.inFlight, dead: q.dead, waitingFor: waiting.get(q.queue) ?? null }));
  }

  private async getJson(path: string): Promise<unknown> {
    const res = await fetch(`${this.url}${path}`, { headers: { authorization: `Bearer ${this.apiToken}` } });
    if (res.status !== 200) throw new Error(`GET ${path.split('?')[0]} answered HTTP ${res.status}`);
    return res.json();
  }
}

/** Messages a queue still holds: waiting, in backoff or in a flow (dead letters apart). */
export function held(q: QueueDepth | undefined): number {
  return q ? q.ready + q.delayed + q.inFlight : 0;
}
