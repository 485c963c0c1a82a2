import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageQueue } from '../../adapters/queue';
import { BodyCipher } from '../../adapters/store';
import { login, startHubProcess, tempDataDir } from './hub-process';
import type { HubProcess } from './hub-process';
import { pollUntil } from './poll';

/**
 * Shared pieces of the hub-process queue tests: flows handed to a hub,
 * a loopback server that records which hub message ids were delivered, and
 * the crash run (queue-in → http request to the recorder; kill -9 mid-run;
 * restart; every message delivered) each backend's test file runs.
 */

export type FlowNode = { id: string; type: string } & Record<string, unknown>;

/** A core function node as the editor saves it: `func` on one output, no setup or libraries. */
export function functionNode(node: { id: string; z?: string; name: string; func: string; wires: string[][] }): FlowNode {
  return { type: 'function', outputs: 1, timeout: 0, noerr: 0, initialize: '', finalize: '', libs: [], ...node };
}
export const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/**
 * A function node that holds every msg for the hub's HOLD_MS environment
 * variable, then hands it on: the run a crash test kills holds it for good
 * (a large HOLD_MS), the restarted run lets it through (HOLD_MS 0).
 */
export function holdingNode(node: { id: string; z: string; name: string; wires: string[][] }): FlowNode {
  return functionNode({ ...node, func: "setTimeout(() => { node.send(msg); node.done(); }, Number(env.get('HOLD_MS') || 0));" });
}

export interface ListedRecord {
  id: string;
  status: string;
  attempts: number;
}

/** An endpoint's records through the monitor API, newest first, as the hub's admin sees them. */
export async function recordsOf(hub: HubProcess, adminPassword: string, endpoint: string): Promise<ListedRecord[]> {
  const token = await login(hub.url, 'admin', adminPassword);
  const res = await fetch(`${hub.url}/api/v1/messages?endpoint=${encodeURIComponent(endpoint)}`, { headers: auth(token) });
  return ((await res.json()) as { items: ListedRecord[] }).items;
}

/** Polls `condition` until it holds; fails naming `what` (and the hub's output, when given) after `timeoutMs`. */
export async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, hub?: HubProcess): Promise<void> {
  await pollUntil(what, condition, { timeoutMs, intervalMs: 50, ...(hub ? { context: () => `--- hub output ---\n${hub.output().slice(-4000)}` } : {}) });
}

/** Replaces the running flows through Node-RED's admin API (a full deploy). */
export async function deployFlows(url: string, token: string, flows: FlowNode[]): Promise<void> {
  const res = await fetch(`${url}/flows`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
  if (res.status !== 204 && res.status !== 200) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
}

/** A flows dir holding `flows`: the hub seeds them on its first start, and a restart runs the same flows. */
export function flowsDir(flows: FlowNode[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'hub-flows-'));
  writeFileSync(join(dir, 'flows.json'), JSON.stringify(flows));
  return dir;
}

/** Records the `x-hub-id` header of every POST; answers 200. */
export class DeliveryRecorder {
  readonly deliveries: string[] = [];
  readonly distinct = new Set<string>();
  private server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const id = req.headers['x-hub-id'];
      req.resume();
      req.on('end', () => {
        if (typeof id === 'string') {
          this.deliveries.push(id);
          this.distinct.add(id);
        }
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/deliveries`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}

/** Store keys the test and the hub share, so the test can seal queue bodies the hub opens. */
export function sharedStoreKeys(): { env: Record<string, string>; cipher: BodyCipher } {
  const key = randomBytes(32);
  return { env: { HUB_STORE_KEYS: `k1:${key.toString('base64')}` }, cipher: new BodyCipher({ k1: key }, 'k1') };
}

export interface CrashRunOptions {
  /** Queue name; also listed in HUB_QUEUE_POLICIES so the hub serves it before any node declares it. */
  queue: string;
  /** Backend settings for the hub (HUB_QUEUE_URL, HUB_QUEUE_PREFIX, …) besides the store keys. */
  env: Record<string, string>;
  /** Opens the test's own adapter on the same backend and keys (closed before the hub starts when `exclusive`). */
  open: (cipher: BodyCipher, dataDir: string) => Promise<MessageQueue>;
  /** The embedded queue file belongs to one process: the test's adapter must be closed while the hub runs. */
  exclusive: boolean;
  messages?: number;
  killAfter?: number;
}

export interface CrashRunResult {
  enqueued: string[];
  deliveredBeforeKill: number;
  deliveries: number;
  distinct: Set<string>;
  killSignal: NodeJS.Signals | null;
}

const ADMIN_PASSWORD = 'queue-crash-admin-password';

/**
 * 10,000 messages waiting on `queue`; a hub whose flow is queue-in → change
 * (x-hub-id header from msg.hubMessageId) → http request to the recorder;
 * kill -9 once at least `killAfter` were delivered; a second hub on the same
 * data dir and backend; waits until every message was delivered and the
 * queue is empty.
 */
export async function crashRun(o: CrashRunOptions): Promise<CrashRunResult> {
  const total = o.messages ?? 10_000;
  const killAfter = o.killAfter ?? 2000;
  const recorder = new DeliveryRecorder();
  await recorder.start();
  const { env: keyEnv, cipher } = sharedStoreKeys();
  const dataDir = tempDataDir();
  mkdirSync(join(dataDir, 'queue'), { recursive: true });
  const flows: FlowNode[] = [
    { id: 'crash-tab', type: 'tab', label: 'queue crash' },
    { id: 'crash-in', z: 'crash-tab', type: 'queue-in', name: '', queue: o.queue, concurrency: '16', timeout: '', drain: '', wires: [['crash-hdr'], []] },
    {
      id: 'crash-hdr',
      z: 'crash-tab',
      type: 'change',
      name: '',
      rules: [
        { t: 'set', p: 'headers', pt: 'msg', to: '{"content-type":"text/plain"}', tot: 'json' },
        { t: 'set', p: 'headers["x-hub-id"]', pt: 'msg', to: 'hubMessageId', tot: 'msg' },
      ],
      wires: [['crash-post']],
    },
    { id: 'crash-post', z: 'crash-tab', type: 'http request', name: '', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: '${QH_RECORDER_URL}', tls: '', persist: true, proxy: '', insecureHTTPParser: false, authType: '', senderr: false, headers: [], wires: [[]] },
  ];
  const env = {
    ...o.env,
    ...keyEnv,
    HUB_DATA_DIR: dataDir,
    HUB_FLOWS_DIR: flowsDir(flows),
    HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
    HUB_LOG_LEVEL: 'warn',
    // A short lease: what the killed hub held comes back within seconds (SQS visibility, embedded lease).
    HUB_QUEUE_POLICIES: JSON.stringify({ [o.queue]: { leaseMs: 3000, prefetch: 64, concurrency: 16 } }),
    QH_RECORDER_URL: recorder.url,
  };

  let hub: HubProcess | undefined;
  const queue = await o.open(cipher, dataDir);
  let queueOpen = true;
  try {
    await queue.declareQueue(o.queue);
    const enqueued: string[] = [];
    const batch = 200;
    for (let i = 0; i < total; i += batch) {
      const ids = Array.from({ length: Math.min(batch, total - i) }, (_, j) => `crash-${String(i + j).padStart(5, '0')}`);
      await Promise.all(ids.map((id) => queue.enqueue(o.queue, { id, body: `synthetic body ${id}`, headers: { 'hub-payload': 'string' } })));
      enqueued.push(...ids);
    }
    if (o.exclusive) {
      await queue.close();
      queueOpen = false;
    }

    hub = await startHubProcess(env, 30_000);
    await waitUntil(`${killAfter} deliveries before the kill`, () => recorder.distinct.size >= killAfter, 60_000, hub);
    hub.proc.kill('SIGKILL');
    const { signal } = await hub.exited;
    const deliveredBeforeKill = recorder.distinct.size;

    hub = await startHubProcess(env, 30_000);
    const admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
    await waitUntil(`all ${total} messages delivered after the restart (now ${recorder.distinct.size})`, () => recorder.distinct.size >= total, 90_000, hub);
    const h = hub;
    await waitUntil('the queue to be empty', async () => {
      const res = await fetch(`${h.url}/api/v1/queues`, { headers: auth(admin) });
      if (res.status !== 200) return false;
      const stats = ((await res.json()) as { items: { queue: string; ready: number; delayed: number; inFlight: number; dead: number }[] }).items.find((s) => s.queue === o.queue);
      return stats !== undefined && stats.ready + stats.delayed + stats.inFlight + stats.dead === 0;
    }, 30_000, hub);
    return { enqueued, deliveredBeforeKill, deliveries: recorder.deliveries.length, distinct: new Set(recorder.distinct), killSignal: signal };
  } finally {
    await hub?.stop().catch(() => undefined);
    // Broker objects are removed; the embedded queue file goes with the data dir.
    if (queueOpen) {
      await queue.deleteQueue(o.queue).catch(() => undefined);
      await queue.close().catch(() => undefined);
    }
    await recorder.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * Like {@link DeliveryRecorder}, but also tells which hub delivered what (each
 * hub posts to `urlFor(its name)`), and can hold its answers: from
 * `holdFrom(n)` on, once n distinct ids arrived, every further request is
 * recorded but left unanswered until `release()`. A held request keeps its
 * message unacknowledged in the hub, so a broker outage can be made to land
 * while deliveries are in flight rather than whenever the run happens to be.
 */
export class SourceRecorder {
  readonly deliveries: string[] = [];
  readonly distinct = new Set<string>();
  readonly bySource = new Map<string, Set<string>>();
  private holdAt = Number.POSITIVE_INFINITY;
  private readonly waiting: (() => void)[] = [];
  private server: Server | null = null;
  private base = '';

  /** Requests received while holding and not answered yet. */
  get held(): number {
    return this.waiting.length;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const id = req.headers['x-hub-id'];
      const source = (req.url ?? '/').split('/').filter(Boolean).pop() ?? '';
      req.resume();
      req.on('end', () => {
        if (typeof id === 'string') {
          this.deliveries.push(id);
          this.distinct.add(id);
          let mine = this.bySource.get(source);
          if (!mine) this.bySource.set(source, (mine = new Set()));
          mine.add(id);
        }
        const answer = (): void => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        if (this.distinct.size > this.holdAt) this.waiting.push(answer);
        else answer();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/deliveries`;
  }

  /** The URL a hub named `source` posts to. */
  urlFor(source: string): string {
    return `${this.base}/${source}`;
  }

  /** Distinct ids `source` delivered. */
  count(source: string): number {
    return this.bySource.get(source)?.size ?? 0;
  }

  holdFrom(distinct: number): void {
    this.holdAt = distinct;
  }

  /** Answers everything held and stops holding. */
  release(): void {
    this.holdAt = Number.POSITIVE_INFINITY;
    for (const answer of this.waiting.splice(0)) answer();
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.release();
    this.server.closeAllConnections();
    await new Promise((r) => this.server!.close(r));
  }
}

/**
 * The delivery flow of the crash run, for other runs: queue-in on `queue` →
 * change (x-hub-id header from msg.hubMessageId) → http request POST to the
 * URL in the hub's `QH_RECORDER_URL`. Node ids start with `idPrefix`.
 */
export function recorderFlow(idPrefix: string, queue: string, concurrency = 16): FlowNode[] {
  const id = (s: string): string => `${idPrefix}-${s}`;
  return [
    { id: id('tab'), type: 'tab', label: `${idPrefix} delivery` },
    { id: id('in'), z: id('tab'), type: 'queue-in', name: '', queue, concurrency: String(concurrency), timeout: '', drain: '', wires: [[id('hdr')], []] },
    {
      id: id('hdr'),
      z: id('tab'),
      type: 'change',
      name: '',
      rules: [
        { t: 'set', p: 'headers', pt: 'msg', to: '{"content-type":"text/plain"}', tot: 'json' },
        { t: 'set', p: 'headers["x-hub-id"]', pt: 'msg', to: 'hubMessageId', tot: 'msg' },
      ],
      wires: [[id('post')]],
    },
    { id: id('post'), z: id('tab'), type: 'http request', name: '', method: 'POST', ret: 'txt', paytoqs: 'ignore', url: '${QH_RECORDER_URL}', tls: '', persist: true, proxy: '', insecureHTTPParser: false, authType: '', senderr: false, headers: [], wires: [[]] },
  ];
}

/** Enqueues `total` synthetic messages (ids `<idPrefix>-00000`, …) in batches of 200; resolves with the ids, each durably enqueued. */
export async function enqueueSynthetic(queue: MessageQueue, name: string, total: number, idPrefix: string): Promise<string[]> {
  const enqueued: string[] = [];
  const batch = 200;
  for (let i = 0; i < total; i += batch) {
    const ids = Array.from({ length: Math.min(batch, total - i) }, (_, j) => `${idPrefix}-${String(i + j).padStart(5, '0')}`);
    await Promise.all(ids.map((id) => queue.enqueue(name, { id, body: `synthetic body ${id}`, headers: { 'hub-payload': 'string' } })));
    enqueued.push(...ids);
  }
  return enqueued;
}

/** The hub's view of `queue` through GET /api/v1/queues, or null when it does not answer 200 or lacks the queue. */
export async function hubQueueStats(url: string, token: string, queue: string): Promise<{ ready: number; delayed: number; inFlight: number; dead: number } | null> {
  const res = await fetch(`${url}/api/v1/queues`, { headers: auth(token) }).catch(() => null);
  if (!res || res.status !== 200) return null;
  const items = ((await res.json()) as { items: { queue: string; ready: number; delayed: number; inFlight: number; dead: number }[] }).items;
  return items.find((s) => s.queue === queue) ?? null;
}

/** Status of the hub's /readyz, 0 when it does not answer. */
export async function readyStatus(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/readyz`);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}
