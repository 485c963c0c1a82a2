/**
 * A queue worker process for tests and benchmarks: a stand-in for a hub
 * process, so scale-out and crash behaviour is tested across real process
 * boundaries (two consumers on two connections, a kill -9 mid-run).
 *
 * Started with one JSON argument ({@link WorkerConfig}); talks over stdout in
 * lines: `READY`, `E <id>` (an enqueue resolved, i.e. is durable), `D <id>`
 * (a handler started), `H <id>` (a handler that will never finish started),
 * `DONE`. Test support only; no production code imports it.
 */
import { BodyCipher } from '../../store/body-cipher';
import { EmbeddedQueue } from '../embedded-queue';
import type { MessageQueue } from '../message-queue';
import type { QueuePolicyInput } from '../policy';
import { RabbitMqQueue } from '../rabbitmq-queue';

export interface WorkerConfig {
  backend: { kind: 'embedded'; file: string; key: string } | { kind: 'rabbitmq'; url: string; prefix: string };
  queue: string;
  policy?: QueuePolicyInput;
  /** Enqueue this many messages (with `concurrency` in flight). */
  enqueue?: number;
  enqueueConcurrency?: number;
  /** Consume, holding `prefetch` and running `concurrency` handlers. */
  consume?: { concurrency: number; prefetch: number; handlerDelayMs?: number; hangEvery?: number };
}

function line(s: string): void {
  // Pipes are synchronous on Linux: the line is out before the next step, so a kill -9 cannot reorder it.
  process.stdout.write(s + '\n');
}

function open(config: WorkerConfig): MessageQueue {
  const b = config.backend;
  if (b.kind === 'embedded') return new EmbeddedQueue({ file: b.file, cipher: new BodyCipher({ k: Buffer.from(b.key, 'base64') }, 'k') });
  return new RabbitMqQueue({ url: b.url, prefix: b.prefix });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
  const queue = open(config);
  await queue.declareQueue(config.queue, config.policy);
  if (config.consume) {
    const { concurrency, prefetch, handlerDelayMs = 0, hangEvery = 0 } = config.consume;
    let n = 0;
    await queue.consume(
      config.queue,
      async (m) => {
        n++;
        if (hangEvery > 0 && n % hangEvery === 0) {
          line(`H ${m.id}`);
          await new Promise<void>(() => undefined);
        }
        line(`D ${m.id}`);
        if (handlerDelayMs > 0) await new Promise((r) => setTimeout(r, handlerDelayMs));
      },
      { concurrency, prefetch },
    );
  }
  line('READY');
  if (config.enqueue) {
    let next = 0;
    const total = config.enqueue;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        const { id } = await queue.enqueue(config.queue, { body: `message ${i}`, headers: { i: String(i) } });
        line(`E ${id}`);
      }
    };
    await Promise.all(Array.from({ length: config.enqueueConcurrency ?? 16 }, worker));
    line('DONE');
  }
  process.stdin.resume();
  process.stdin.on('end', () => {
    void queue.close().finally(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`queue worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
