import { connect } from 'node:net';
import bcrypt from 'bcryptjs';
import { frame, MllpDecoder } from '../../adapters/mllp';
import { freePort, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import type { MonitorSnapshot } from '../../hub/monitor/protocol';

/** Helpers shared by the monitor's integration and browser tests. */

export const PASSWORDS = { admin: 'admin-password-for-tests', olga: 'operator-password-for-tests', vic: 'viewer-password-for-tests' } as const;

export interface MonitorHub extends HubProcess {
  mllpPort: number;
}

/** The built hub with an operator (olga) and a viewer (vic), and a known MLLP port for the reference HL7 intake flow. */
export async function startMonitorHub(): Promise<MonitorHub> {
  const mllpPort = await freePort();
  const hub = await startHubProcess({
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
