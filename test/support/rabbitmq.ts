import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';

/** The machine's RabbitMQ (guest/guest on loopback); override with HUB_TEST_AMQP_URL. */
export const TEST_AMQP_URL = process.env.HUB_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Without credentials, for messages. */
export function amqpPeer(url: string = TEST_AMQP_URL): string {
  return url.replace(/\/\/[^@]*@/, '//');
}

/**
 * Fails with a message that names RabbitMQ and how to start it, so a missing
 * broker never turns into a silently passing suite.
 */
export async function requireRabbitMq(url: string = TEST_AMQP_URL): Promise<void> {
  try {
    const conn = await connect(url, { timeout: 3000 });
    await conn.close();
  } catch (err) {
    throw new Error(
      `RabbitMQ is not reachable at ${amqpPeer(url)} (${(err as Error).message || (err as { code?: string }).code || String(err)}). ` +
        'Start it with: rabbitmq-server -detached (then wait for port 5672; .ci/run does both).',
    );
  }
}

/** A queue-name prefix no other run uses; tests delete what they create. */
export function uniqueRabbitPrefix(): string {
  return `hubtest.${process.pid}.${randomBytes(3).toString('hex')}.`;
}

/** Runs `rabbitmqctl <args>` (the broker restart test), with a bounded wait. */
export function rabbitmqctl(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`rabbitmqctl ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Consumers the broker counts on `brokerQueue` (a full broker name, prefix included). */
export async function rabbitConsumerCount(brokerQueue: string, url: string = TEST_AMQP_URL): Promise<number> {
  const conn = await connect(url, { timeout: 3000 });
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue(brokerQueue)).consumerCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** `start_app` then `await_startup`: the broker serves again (idempotent when it already runs). */
export async function startRabbitMqApp(): Promise<void> {
  await rabbitmqctl(['start_app'], 120_000);
  await rabbitmqctl(['await_startup'], 120_000);
}
