/**
 * `npm run bench:mllp`: HL7 v2 over MLLP into the hub's `mllp-in` (the
 * reference HL7 intake tab, see peers/hub-intake-flow.ts; *after commit*: AA
 * only once the message is durably stored),
 * measured in the same run as two peers that store nothing: a bare MLLP echo
 * on @medplum/hl7 and a stock Node-RED `tcp in` → `tcp out` flow. Each peer
 * runs in its own process; the driver keeps one message in flight per
 * connection. Prints a table and one JSON line.
 *
 * The three peers run side by side (an idle one costs nothing), each is
 * warmed up with BENCH_WARMUP messages, and the max-rate runs are
 * interleaved: BENCH_ROUNDS rounds of hub, echo, Node-RED. The table shows
 * each peer's median round and the JSON line every round, so the hub and the
 * bare peer are compared in the same minutes: a 2-vCPU VM's speed drifts by
 * a fifth between runs, and one run each, a minute apart, measured the drift
 * as much as the peers.
 *
 * Every round also reports the CPU time the hypervisor stole from this VM
 * while it ran (cpu-steal.ts): a round with a large steal share measured a
 * neighbour, not the code.
 *
 * BENCH_MESSAGES (default 20000), BENCH_CONNECTIONS (default 8),
 * BENCH_ROUNDS (default 3), BENCH_WARMUP (default 5000),
 * BENCH_MORE_CONNECTIONS (e.g. "16,32": extra max-rate rows with more senders;
 * with one message in flight per sender, a durable receiver's rate is set by
 * its ACK latency, so these rows show what it does when more interfaces send).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drive } from './mllp-driver';
import type { DriveResult } from './mllp-driver';
import { cpuTimes, stealPercent } from './cpu-steal';
import { machineProfile } from './machine-profile';
import { hubIntakeFlowsDir } from './peers/hub-intake-flow';
import { nodeRedTcpPeer } from './peers/node-red-tcp-flow';

const ROOT = join(__dirname, '..', '..', '..');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5000);
const MORE_CONNECTIONS = (process.env.BENCH_MORE_CONNECTIONS ?? '').split(',').filter(Boolean).map(Number);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1 || !Number.isInteger(WARMUP) || WARMUP < 0) {
  process.stderr.write('bench:mllp: BENCH_ROUNDS must be a positive integer and BENCH_WARMUP a non-negative one\n');
  process.exit(2);
}
if (MORE_CONNECTIONS.some((c) => !Number.isInteger(c) || c < 1)) {
  process.stderr.write('bench:mllp: BENCH_MORE_CONNECTIONS must be a comma-separated list of positive integers\n');
  process.exit(2);
}
const LATENCY_RATE = 1000;
const LATENCY_SECONDS = 5;
const SETTLE_BETWEEN_RUNS_MS = 500;

const controlId = (n: number): string => `BENCH${String(n).padStart(9, '0')}`;

/** ~1 KB ORU^R01 with escape sequences and synthetic canary PHI. */
function oru(n: number): string {
  const segs = [
    `MSH|^~\\&|IVFLIS|REPROLAB|IVFEMR|REPROCLINIC|20261204101500||ORU^R01^ORU_R01|${controlId(n)}|P|2.5.1|||AL|NE`,
    `PID|1||CANARY-MRN-${n % 997}^^^REPROCLINIC^MR||CANARYSURNAME^CANARYGIVEN^^^^^L||19010101|F`,
    'PV1|1|O|REI^^^REPROCLINIC',
    'ORC|RE|ORD5600^IVFEMR|L89020^IVFLIS||CM',
    'OBR|1|ORD5600^IVFEMR|L89020^IVFLIS|21198-7^Choriogonadotropin.beta subunit \\T\\ HCG^LN|||20261204080500|||||||||1234567893^ENDO^REBECCA^^^^MD||||||20261204113900|||F',
    'OBX|1|NM|21198-7^hCG beta \\S\\ serum^LN||152.4|m[IU]/mL^milli-international unit per milliliter^UCUM|<5|H|||F|||20261204113000',
    'OBX|2|NM|2243-4^Estradiol^LN||1830|pg/mL^picogram per milliliter^UCUM|30-400|H|||F|||20261204113000',
    'OBX|3|NM|2839-9^Progesterone^LN||1.2|ng/mL^nanogram per milliliter^UCUM|0.2-1.5|N|||F|||20261204113000',
    'OBX|4|NM|10501-5^Lutropin^LN||8.7|m[IU]/mL^milli-international unit per milliliter^UCUM|1.9-12.5|N|||F|||20261204113000',
    'NTE|1|L|Day 12 of stimulation\\.br\\Sample drawn 08:05\\.br\\Reviewed by the lab \\E\\ released',
  ];
  return segs.join('\r') + '\r';
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, proc: ChildProcess, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited before listening`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Peer {
  name: string;
  durable: boolean;
  start(port: number): ChildProcess;
}

const PEERS: Peer[] = [
  {
    name: 'hub mllp-in (after commit, SQLite)',
    durable: true,
    start: (port) =>
      spawn(process.execPath, [join(ROOT, 'dist', 'hub', 'main.js')], {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HUB_DATA_DIR: mkdtempSync(join(tmpdir(), 'bench-hub-')), HUB_FLOWS_DIR: hubIntakeFlowsDir(ROOT), HUB_PORT: String(port + 1), HUB_MLLP_PORT: String(port), HUB_ASTM_PORT: String(port + 2), HUB_BIND: '127.0.0.1', HUB_ADMIN_PASSWORD: 'bench-admin-password', HUB_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
  },
  {
    name: '@medplum/hl7 echo (not durable)',
    durable: false,
    start: (port) => spawn(process.execPath, [join(__dirname, 'peers', 'medplum-echo.js'), String(port)], { stdio: ['ignore', 'ignore', 'inherit'] }),
  },
  {
    name: 'stock Node-RED tcp flow (not durable)',
    durable: false,
    start: (port) => {
      const { settingsFile } = nodeRedTcpPeer(port);
      return spawn(process.execPath, [join(ROOT, 'node_modules', 'node-red', 'red.js'), '--settings', settingsFile], { stdio: ['ignore', 'ignore', 'inherit'] });
    },
  },
];

/** A drive, with the share of CPU time stolen from the VM while it ran (null off Linux). */
interface Measured extends DriveResult {
  stealPct: number | null;
}

interface Row extends Measured {
  peer: string;
  mode: string;
  connections: number;
  /** Max-rate rows: msgs/s of every round, in the order run; the row itself is the median round. */
  rounds?: number[];
  /** Max-rate rows: steal % of every round, in the same order. */
  roundsStealPct?: (number | null)[];
}

async function measure(options: Parameters<typeof drive>[0]): Promise<Measured> {
  const before = cpuTimes();
  const result = await drive(options);
  return { ...result, stealPct: stealPercent(before, cpuTimes()) };
}

interface Running {
  peer: Peer;
  port: number;
  proc: ChildProcess;
}

function median(results: Measured[]): Measured {
  const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function main(): Promise<void> {
  const machine = machineProfile(tmpdir());
  const running: Running[] = [];
  const rows: Row[] = [];
  try {
    for (const peer of PEERS) {
      const port = await freePort();
      const proc = peer.start(port);
      running.push({ peer, port, proc });
      await waitForPort(port, proc, peer.name);
    }
    // Warm up JITs, connections and (for the hub) the store's pages before measuring.
    for (const { port } of running) {
      if (WARMUP > 0) await drive({ port, connections: CONNECTIONS, messages: WARMUP, message: (n) => oru(n + 10_000_000), controlId: (n) => controlId(n + 10_000_000) });
    }
    const maxRuns = new Map<Running, Measured[]>(running.map((r) => [r, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const r of running) {
        // Let the previous peer's after-work (the hub's row moves and checkpoint) finish first.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_BETWEEN_RUNS_MS));
        const offset = 40_000_000 + round * 1_000_000;
        maxRuns.get(r)!.push(await measure({ port: r.port, connections: CONNECTIONS, messages: MESSAGES, message: (n) => oru(n + offset), controlId: (n) => controlId(n + offset) }));
      }
    }
    for (const r of running) {
      const runs = maxRuns.get(r)!;
      rows.push({ peer: r.peer.name, mode: `max, C=${CONNECTIONS}`, connections: CONNECTIONS, ...median(runs), rounds: runs.map((x) => x.perSecond), roundsStealPct: runs.map((x) => x.stealPct) });
      for (const [k, connections] of MORE_CONNECTIONS.entries()) {
        const offset = 30_000_000 + k * 1_000_000;
        const more = await measure({ port: r.port, connections, messages: MESSAGES, message: (n) => oru(n + offset), controlId: (n) => controlId(n + offset) });
        rows.push({ peer: r.peer.name, mode: `max, C=${connections}`, connections, ...more });
      }
      const paced = await measure({ port: r.port, connections: CONNECTIONS, messages: LATENCY_RATE * LATENCY_SECONDS, rate: LATENCY_RATE, message: (n) => oru(n + 20_000_000), controlId: (n) => controlId(n + 20_000_000) });
      rows.push({ peer: r.peer.name, mode: `${LATENCY_RATE}/s paced, C=${CONNECTIONS}`, connections: CONNECTIONS, ...paced });
    }
  } finally {
    await Promise.all(running.map((r) => stop(r.proc)));
  }

  const pct = (v: number | null): string => (v === null ? '?' : String(v));
  const header = ['peer', 'mode', 'messages', 'msgs/s', 'p50 ms', 'p99 ms', 'AA', 'AE/AR', 'MSA-2 mismatch', 'steal %', 'rounds msgs/s', 'rounds steal %'];
  const lines = rows.map((r) =>
    [r.peer, r.mode, r.messages, r.perSecond, r.p50Ms, r.p99Ms, r.accepted, r.rejected, r.mismatched, pct(r.stealPct), r.rounds?.join(' ') ?? '', r.roundsStealPct?.map(pct).join(' ') ?? ''].map(String),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  process.stdout.write(`MLLP benchmark: ~1 KB ORU^R01, one message in flight per connection (${new Date().toISOString()})\n`);
  process.stdout.write(`Machine: ${machine.cpus} × ${machine.cpuModel}; 4 KB write + fdatasync p50 ${machine.syncP50Ms} ms, p99 ${machine.syncP99Ms} ms\n`);
  process.stdout.write([fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(fmt)].join('\n') + '\n');
  const hub = rows.find((r) => r.peer.startsWith('hub') && r.mode.startsWith('max'));
  const bare = rows.find((r) => r.peer.startsWith('@medplum') && r.mode.startsWith('max'));
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(2));
  const summary =
    hub && bare
      ? { hubVsBare: ratio(hub.perSecond, bare.perSecond), hubVsBareByRound: (hub.rounds ?? []).map((h, i) => ratio(h, bare.rounds?.[i] ?? NaN)) }
      : {};
  if (hub && bare) process.stdout.write(`Hub / bare echo: ${summary.hubVsBare} (medians); by round: ${summary.hubVsBareByRound?.join(', ')}\n`);
  process.stdout.write(JSON.stringify({ bench: 'mllp', messages: MESSAGES, connections: CONNECTIONS, rounds: ROUNDS, warmup: WARMUP, machine, rows, ...summary }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:mllp failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
