import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll';

export const ROOT = join(__dirname, '..', '..');
export const HUB_MAIN = join(ROOT, 'dist', 'hub', 'main.js');

export interface HubProcess {
  proc: ChildProcess;
  url: string;
  /** HUB_MLLP_PORT: the reference HL7 intake's listener. */
  mllpPort: number;
  dataDir: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Ports this process has handed out. The kernel may give the same free port
 * to two binds in a row once the first probe is closed, and a hub started
 * with HUB_PORT equal to HUB_ASTM_PORT never gets ready (seen in CI).
 */
const handedOut = new Set<number>();

export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const bound = (s.address() as { port: number }).port;
        s.close(() => resolve(bound));
      });
      s.on('error', reject);
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Waits until `port` on loopback accepts a TCP connection. /readyz counts a
 * listener only once it is bound, so a test that sends right after start waits here.
 */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const accepts = (): Promise<boolean> =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  await pollUntil(`a listener on 127.0.0.1:${port}`, accepts, { timeoutMs, intervalMs: 50 });
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'hub-data-'));
}

/** Runs the built hub as a child process, as `npm start` would, with a clean env plus `env`. */
export function runHub(env: Record<string, string>): { proc: ChildProcess; output: () => string; exited: HubProcess['exited'] } {
  const proc = spawn(process.execPath, [HUB_MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { proc, output: () => out, exited };
}

/** Starts a hub and waits until /readyz answers 200: store open and flows started (or fails after `timeoutMs`). */
export async function startHubProcess(env: Record<string, string> = {}, timeoutMs = 15_000): Promise<HubProcess> {
  const port = await freePort();
  const mllpPort = await freePort();
  const astmPort = await freePort();
  const dataDir = env.HUB_DATA_DIR ?? tempDataDir();
  const { proc, output, exited } = runHub({ HUB_BIND: '127.0.0.1', HUB_PORT: String(port), HUB_MLLP_PORT: String(mllpPort), HUB_ASTM_PORT: String(astmPort), HUB_DATA_DIR: dataDir, HUB_LOG_LEVEL: 'info', ...env });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let exitedEarly = false;
  void exited.then(() => (exitedEarly = true));
  for (;;) {
    if (exitedEarly) throw new Error(`hub exited during start:\n${output()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`hub did not become ready within ${timeoutMs} ms:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    proc,
    url,
    mllpPort: Number(env.HUB_MLLP_PORT ?? mllpPort),
    dataDir,
    output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export async function login(url: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export async function createToken(url: string, adminToken: string, name: string, role: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ name, role }),
  });
  if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}
