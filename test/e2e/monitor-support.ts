import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { frame, MllpDecoder } from '../../adapters/mllp';
import { freePort, ROOT, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { functionNode } from '../support/queue-hub';
import type { MonitorSnapshot } from '../../hub/monitor/protocol';

/** Helpers shared by the monitor's integration and browser tests. */

export const PASSWORDS = { admin: 'admin-password-for-tests', olga: 'operator-password-for-tests', vic: 'viewer-password-for-tests' } as const;

export interface MonitorHub extends HubProcess {
  mllpPort: number;
}

/**
 * The built hub with an operator (olga) and a viewer (vic), and a known MLLP port for the reference HL7 intake flow.
 * @param env - more settings (e.g. HUB_ALERT_RULES)
 */
export async function startMonitorHub(env: Record<string, string> = {}): Promise<MonitorHub> {
  const mllpPort = await freePort();
  const hub = await startHubProcess({
    ...env,
    HUB_ADMIN_PASSWORD: PASSWORDS.admin,
    HUB_MLLP_PORT: String(mllpPort),
    HUB_USERS: JSON.stringify([
      { username: 'olga', role: 'operator', passwordHash: bcrypt.hashSync(PASSWORDS.olga, 4) },
      { username: 'vic', role: 'viewer', passwordHash: bcrypt.hashSync(PASSWORDS.vic, 4) },
    ]),
  });
  return Object.assign(hub, { mllpPort });
}

/**
 * Sends HL7 messages over one MLLP connection, one at a time, and resolves
 * with each ACK's MSA-1 once all are answered.
 */
export async function sendMllp(port: number, messages: string[], timeoutMs = 10_000): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  const codes: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ACK within ${timeoutMs} ms (${codes.length}/${messages.length} answered)`)), timeoutMs);
      let next = 0;
      const sendNext = (): void => {
        if (next >= messages.length) {
          clearTimeout(timer);
          resolve();
          return;
        }
        socket.write(frame(messages[next++]!));
      };
      const decoder = new MllpDecoder({
        frame: (payload) => {
          const msa = payload.toString('utf8').split(/\r/).find((s) => s.startsWith('MSA|'));
          codes.push(msa?.split('|')[1] ?? '?');
          sendNext();
        },
      });
      socket.on('data', (chunk: Buffer) => decoder.push(chunk));
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('connect', sendNext);
    });
  } finally {
    socket.end();
  }
  return codes;
}

export interface SseEvent {
  event: string;
  data: string;
}

/** A minimal server-sent-events client over fetch, keeping every event for the test to inspect. */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly status: Promise<number>;
  private readonly abort = new AbortController();
  private waiters: (() => void)[] = [];
  private done = false;

  constructor(url: string, headers: Record<string, string>) {
    this.status = fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: this.abort.signal }).then((res) => {
      if (res.ok && res.body) void this.read(res.body);
      else this.finish();
      return res.status;
    });
    this.status.catch(() => this.finish());
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) this.events.push({ event, data: data.join('\n') });
          this.wake();
        }
      }
    } catch {
      // aborted
    }
    this.finish();
  }

  private finish(): void {
    this.done = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  snapshots(): MonitorSnapshot[] {
    return this.events.filter((e) => e.event === 'snapshot').map((e) => JSON.parse(e.data) as MonitorSnapshot);
  }

  /** Resolves with the first snapshot (from now on, or already received) matching `pred`. */
  async waitForSnapshot(pred: (s: MonitorSnapshot) => boolean, timeoutMs = 15_000): Promise<MonitorSnapshot> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.snapshots().find(pred);
      if (hit) return hit;
      if (this.done) throw new Error(`event stream ended after ${this.events.length} events without a matching snapshot`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching snapshot within ${timeoutMs} ms (${this.events.length} events)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server ends the stream. */
  async ended(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.done) {
      if (Date.now() > deadline) throw new Error('event stream still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.abort.abort();
  }
}

export function endpointOf(s: MonitorSnapshot, name: string): MonitorSnapshot['endpoints'][number] | undefined {
  return s.endpoints.find((e) => e.name === name);
}

/** The queue of {@link DEAD_LETTER_FLOW}. */
export const DEAD_LETTER_QUEUE = 'e2e-orders';

/**
 * A flow whose destination refuses messages for good, so they land in the
 * dead letters after one attempt: `POST /in/e2e-orders` records the body
 * (endpoint `e2e-orders`, status queued), queues it and answers 202 with the
 * hub message id; the consumer refuses a body containing BAD every time, and
 * one containing ONCE on its first attempt only (a destination that was
 * briefly misconfigured), then marks the stored message `sent`.
 */
export const DEAD_LETTER_FLOW: ({ id: string; type: string } & Record<string, unknown>)[] = [
  { id: 'dl-in', type: 'http in', name: '', url: '/e2e-orders', method: 'post', upload: false, swaggerDoc: '', wires: [['dl-record']] },
  { id: 'dl-record', type: 'store-record', name: '', direction: 'inbound', endpoint: DEAD_LETTER_QUEUE, status: 'queued', contentType: 'text/plain', wires: [['dl-out']] },
  { id: 'dl-out', type: 'queue-out', name: '', queue: DEAD_LETTER_QUEUE, keyProperty: '', policy: '', wires: [['dl-id']] },
  { id: 'dl-id', type: 'change', name: 'answer the id', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'hubMessageId', tot: 'msg' }], wires: [['dl-res']] },
  { id: 'dl-res', type: 'http response', name: '', statusCode: '202', headers: {}, wires: [] },
  { id: 'dl-qin', type: 'queue-in', name: '', queue: DEAD_LETTER_QUEUE, concurrency: '', timeout: '', drain: '', wires: [['dl-dest'], []] },
  functionNode({
    id: 'dl-dest',
    name: 'destination',
    func: [
      "const tries = flow.get('tries') || {};",
      'tries[msg.hubMessageId] = (tries[msg.hubMessageId] || 0) + 1;',
      "flow.set('tries', tries);",
      'const body = String(msg.payload);',
      "if (body.includes('BAD') || (body.includes('ONCE') && tries[msg.hubMessageId] === 1)) {",
      '  msg.retryable = false;',
      "  throw new Error('refused by the destination');",
      '}',
      'return msg;',
    ].join('\n'),
    wires: [['dl-sent']],
  }),
  { id: 'dl-sent', type: 'store-status', name: '', status: 'sent', wires: [[]] },
];

/** Adds {@link DEAD_LETTER_FLOW} as a new flow tab beside the running ones (Node-RED's `POST /flow`). */
export async function addDeadLetterFlow(url: string, adminToken: string): Promise<void> {
  const res = await fetch(`${url}/flow`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ label: 'e2e dead letters', nodes: DEAD_LETTER_FLOW }),
  });
  if (res.status !== 200) throw new Error(`adding the dead-letter flow failed: ${res.status} ${await res.text()}`);
}

/**
 * Where browser tests save screenshots: `test/e2e/artifacts/` in the checkout
 * (CI keeps it as a build artifact), or HUB_E2E_ARTIFACTS_DIR.
 */
export function artifactPath(name: string): string {
  const dir = process.env.HUB_E2E_ARTIFACTS_DIR || join(ROOT, 'test', 'e2e', 'artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
