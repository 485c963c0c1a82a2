/**
 * `npm run bench:queue`: messages per second through enqueue → consume → ack
 * for each queue backend, and the process RSS of the embedded queue while
 * 1,000,000 messages wait in it. A message counts once its enqueue resolved
 * (durable: group-committed with synchronous=FULL, or confirmed by the broker)
 * and its handler's ack was applied. Each phase runs in its own child process
 * so RSS figures do not carry over. Prints a table and one JSON line.
 *
 * Environment: BENCH_MESSAGES (default 100000), BENCH_BACKLOG (1000000),
 * BENCH_SQS_MESSAGES (10000), BENCH_PRODUCERS (256 enqueues in flight), HUB_TEST_AMQP_URL.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EmbeddedQueue, RabbitMqQueue, SqsQueue } from '../../adapters/queue';
import type { MessageQueue } from '../../adapters/queue';
import { BodyCipher } from '../../adapters/store';
import { canaryOru } from '../fixtures/canary';
import { startFauxqs } from '../support/fauxqs';
import { requireRabbitMq, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);
const SQS_MESSAGES = Number(process.env.BENCH_SQS_MESSAGES ?? 10_000);
const BODY = Buffer.from(canaryOru('BENCH').padEnd(1024, 'X'));
const PRODUCERS = Number(process.env.BENCH_PRODUCERS ?? 256);
const CONSUMER = { concurrency: 64, prefetch: 1024 };

interface Row {
  backend: string;
  scenario: string;
  messages: number;
  seconds: number;
  perSecond: number;
  /** CPU time of this process (all threads) per message: steadier than wall time on a shared machine. */
  cpuUsPerMessage: number;
  rssMb: number;
  peakRssMb: number;
}

const mb = (bytes: number): number => Math.round(bytes / 1e6);

/** Samples RSS every 100 ms; the peak is what a flat-memory claim must hold to. */
function rssSampler(): { peak(): number; stop(): void } {
  let peak = process.memoryUsage.rss();
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  return { peak: () => peak, stop: () => clearInterval(t) };
}

async function produce(queue: MessageQueue, name: string, n: number, onProgress?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      await queue.enqueue(name, { body: BODY, headers: { type: 'ORU^R01' } });
      done++;
      if (onProgress && done % 100_000 === 0) onProgress(done);
    }
  };
  await Promise.all(Array.from({ length: PRODUCERS }, worker));
}

async function drained(queue: MessageQueue, name: string): Promise<void> {
  for (;;) {
    const s = await queue.stats(name);
    if (s.ready + s.inFlight + s.delayed === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Producers and a consumer at once; the clock stops when the last message is acknowledged. */
async function endToEnd(backend: string, queue: MessageQueue, name: string, n: number): Promise<Row> {
  await queue.declareQueue(name, { ...CONSUMER, maxAttempts: 3 });
  const rss = rssSampler();
  let handled = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const consumer = await queue.consume(name, async () => {
    handled++;
  });
  await produce(queue, name, n);
  while (handled < n) await new Promise((r) => setTimeout(r, 5));
  await drained(queue, name);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  rss.stop();
  await consumer.close();
  return {
    backend,
    scenario: 'enqueue+consume+ack',
    messages: n,
    seconds: round(seconds),
    perSecond: Math.round(n / seconds),
    cpuUsPerMessage: Math.round((cpu.user + cpu.system) / n),
    rssMb: mb(process.memoryUsage.rss()),
    peakRssMb: mb(rss.peak()),
  };
}

const round = (x: number): number => Number(x.toFixed(2));
const cipher = (): BodyCipher => new BodyCipher({ bench: randomBytes(32) }, 'bench');

const PHASES: Record<string, () => Promise<Row[]>> = {
  async embedded() {
    const dir = mkdtempSync(join(tmpdir(), 'hub-qbench-'));
    const queue = new EmbeddedQueue({ file: join(dir, 'queue.db'), cipher: cipher(), worker: process.env.BENCH_EMBEDDED_WORKER !== '0' });
    try {
      return [await endToEnd('embedded', queue, 'bench', MESSAGES)];
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },

  /** 1,000,000 messages waiting: memory must not grow with the backlog, and consuming from it stays fast. */
  async backlog() {
    const dir = mkdtempSync(join(tmpdir(), 'hub-qbench-'));
    const queue = new EmbeddedQueue({ file: join(dir, 'queue.db'), cipher: cipher() });
    try {
      await queue.declareQueue('backlog', { ...CONSUMER, maxAttempts: 3 });
      const rss = rssSampler();
      const start = performance.now();
      let cpu0 = process.cpuUsage();
      await produce(queue, 'backlog', BACKLOG, (done) => process.stderr.write(`  backlog: ${done} enqueued, rss ${mb(process.memoryUsage.rss())} MB\n`));
      const fillSeconds = (performance.now() - start) / 1000;
      const waiting = (await queue.stats('backlog')).ready;
      const fillCpu = process.cpuUsage(cpu0);
      const fill: Row = {
        backend: 'embedded',
        scenario: `enqueue to ${waiting} waiting`,
        messages: BACKLOG,
        seconds: round(fillSeconds),
        perSecond: Math.round(BACKLOG / fillSeconds),
        cpuUsPerMessage: Math.round((fillCpu.user + fillCpu.system) / BACKLOG),
        rssMb: mb(process.memoryUsage.rss()),
        peakRssMb: mb(rss.peak()),
      };
      // Consume a slice while the rest of the million still waits behind it.
      const slice = Math.min(MESSAGES, BACKLOG);
      let handled = 0;
      const t0 = performance.now();
      cpu0 = process.cpuUsage();
      const consumer = await queue.consume('backlog', async () => {
        handled++;
      });
      while (handled < slice) await new Promise((r) => setTimeout(r, 5));
      await consumer.close();
      const drainSeconds = (performance.now() - t0) / 1000;
      const drainCpu = process.cpuUsage(cpu0);
      rss.stop();
      const consume: Row = {
        backend: 'embedded',
        scenario: `consume+ack ${slice} of ${waiting} waiting`,
        messages: slice,
        seconds: round(drainSeconds),
        perSecond: Math.round(slice / drainSeconds),
        cpuUsPerMessage: Math.round((drainCpu.user + drainCpu.system) / slice),
        rssMb: mb(process.memoryUsage.rss()),
        peakRssMb: mb(rss.peak()),
      };
      return [fill, consume];
    } finally {
      await queue.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },

  async rabbitmq() {
    await requireRabbitMq();
    const queue = new RabbitMqQueue({ url: TEST_AMQP_URL, prefix: uniqueRabbitPrefix() });
    try {
      await queue.ready();
      return [await endToEnd('rabbitmq (confirms)', queue, 'bench', Number(process.env.BENCH_RABBIT_MESSAGES ?? MESSAGES / 2))];
    } finally {
      await queue.deleteQueue('bench').catch(() => undefined);
      await queue.close();
    }
  },

  async sqs() {
    const fauxqs = await startFauxqs();
    const queue = new SqsQueue({ prefix: 'bench-' }, { client: fauxqs.client() });
    try {
      return [await endToEnd('sqs (fauxqs, loopback)', queue, 'bench', SQS_MESSAGES)];
    } finally {
      await queue.close();
      await fauxqs.stop();
    }
  },
};

async function main(): Promise<void> {
  const phase = process.argv[2];
  if (phase) {
    const rows = await PHASES[phase]!();
    process.stdout.write(JSON.stringify(rows) + '\n');
    return;
  }
  const rows: Row[] = [];
  for (const name of Object.keys(PHASES)) {
    process.stderr.write(`phase ${name}…\n`);
    const out = execFileSync(process.execPath, [__filename, name], { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 }).toString();
    rows.push(...(JSON.parse(out.trim().split('\n').pop()!) as Row[]));
  }
  const header = ['backend', 'scenario', 'messages', 'seconds', 'msgs/s', 'CPU µs/msg', 'RSS MB', 'peak RSS MB'];
  const lines = rows.map((r) => [r.backend, r.scenario, r.messages, r.seconds, r.perSecond, r.cpuUsPerMessage, r.rssMb, r.peakRssMb].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  process.stdout.write(`Queue benchmark: 1 KB ORU^R01 bodies, durable before the enqueue resolves, ${PRODUCERS} producers, consumer concurrency ${CONSUMER.concurrency} / prefetch ${CONSUMER.prefetch} (${new Date().toISOString()})\n`);
  process.stdout.write([fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(fmt)].join('\n') + '\n');
  process.stdout.write(JSON.stringify({ bench: 'queue', rows }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:queue failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
