import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { RabbitMqQueue } from '../../adapters/queue';
import { startHubProcess, login, tempDataDir } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { TEST_PG_URL, requirePostgres } from '../support/postgres';
import { enqueueSynthetic, flowsDir, hubQueueStats, recorderFlow, SourceRecorder, sharedStoreKeys, waitUntil } from '../support/queue-hub';
import { rabbitConsumerCount, requireRabbitMq, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

const TOTAL = 10_000;
const KILL_AFTER = 4000;
/** Each hub's part, as a distribution (not a rate): a tenth of the run. */
const MIN_SHARE = TOTAL / 10;
const QUEUE = 'scaleout';
const ADMIN_PASSWORD = 'queue-scaleout-admin-password';

beforeAll(async () => {
  await requireRabbitMq();
  await requirePostgres();
});

/** A database of its own on the machine's PostgreSQL: the hubs' shared store, dropped afterwards. */
async function withDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const name = `hub_scaleout_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(TEST_PG_URL);
    url.pathname = `/${name}`;
    return await run(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
}

/**
 * Scale-out as the README describes it: two hub processes, each with its own
 * data dir, on one PostgreSQL store and one RabbitMQ queue with the same keys,
 * run the same queue-in → http request flow. Both take part of 10,000
 * messages; a kill -9 of one mid-run loses none: the broker hands what it
 * held unacknowledged to the other, which finishes the run.
 */
test('two hub processes share one RabbitMQ queue; killing one mid-run loses none of 10,000', async () => {
  await withDatabase(async (storeUrl) => {
    const prefix = uniqueRabbitPrefix();
    const recorder = new SourceRecorder();
    await recorder.start();
    const { env: keyEnv, cipher } = sharedStoreKeys();
    const flows = flowsDir(recorderFlow('scale', QUEUE));
    const dataDirs = [tempDataDir(), tempDataDir()];
    const common = {
      ...keyEnv,
      HUB_PATIENT_KEY_SECRET: randomBytes(32).toString('base64'),
      HUB_STORE_URL: storeUrl,
      HUB_QUEUE_URL: TEST_AMQP_URL,
      HUB_QUEUE_PREFIX: prefix,
      // A bounded prefetch: the broker dispatches to whichever hub has room, so neither hoards the queue.
      HUB_QUEUE_POLICIES: JSON.stringify({ [QUEUE]: { prefetch: 32, concurrency: 16 } }),
      HUB_FLOWS_DIR: flows,
      HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HUB_LOG_LEVEL: 'warn',
      // A rule over the shared queue: one hub evaluates it, the other stands by until it is the only one left.
      HUB_ALERT_RULES: JSON.stringify([{ name: 'scale-backlog', type: 'queue-depth', queue: QUEUE, threshold: 1_000_000 }]),
      HUB_ALERT_INTERVAL_SECONDS: '1',
    };
    const producer = new RabbitMqQueue({ url: TEST_AMQP_URL, prefix, cipher });
    const hubs: HubProcess[] = [];
    try {
      // Started together, as an orchestrator would: both open the one store at once.
      const started = await Promise.allSettled(
        (['a', 'b'] as const).map((name, i) => startHubProcess({ ...common, HUB_DATA_DIR: dataDirs[i]!, QH_RECORDER_URL: recorder.urlFor(name) }, 45_000)),
      );
      for (const s of started) if (s.status === 'fulfilled') hubs.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      const [victim, survivor] = hubs as [HubProcess, HubProcess];
      // Messages go out only once both consume, so the split is decided by the broker, not by who started first.
      await waitUntil('both hubs consuming', async () => (await rabbitConsumerCount(`${prefix}${QUEUE}`).catch(() => 0)) >= 2, 30_000, survivor);

      const backlogRule = async (hub: HubProcess): Promise<{ error: string | null; lastEvaluatedAt: string | null } | undefined> => {
        const token = await login(hub.url, 'admin', ADMIN_PASSWORD);
        const res = await fetch(`${hub.url}/api/v1/monitor/alerts`, { headers: { authorization: `Bearer ${token}` } });
        return ((await res.json()) as { rules: { name: string; error: string | null; lastEvaluatedAt: string | null }[] }).rules.find((r) => r.name === 'scale-backlog');
      };
      await waitUntil('both hubs evaluated the shared alert rule', async () => (await Promise.all(hubs.map(backlogRule))).every((r) => r?.lastEvaluatedAt), 30_000, survivor);
      const standing = await Promise.all(hubs.map(backlogRule));
      expect(standing.filter((r) => r?.error === 'STANDBY')).toHaveLength(1);

      await producer.declareQueue(QUEUE);
      const producing = enqueueSynthetic(producer, QUEUE, TOTAL, 'scale');
      await waitUntil(`${KILL_AFTER} deliveries before the kill`, () => recorder.distinct.size >= KILL_AFTER, 60_000, victim);
      victim.proc.kill('SIGKILL');
      const { signal } = await victim.exited;
      const victimBeforeKill = recorder.count('a');
      const distinctAtKill = recorder.distinct.size;
      const enqueued = await producing;

      await waitUntil(`all ${TOTAL} messages delivered (now ${recorder.distinct.size})`, () => recorder.distinct.size >= TOTAL, 60_000, survivor);
      const token = await login(survivor.url, 'admin', ADMIN_PASSWORD);
      await waitUntil('the queue to be empty', async () => {
        const stats = await hubQueueStats(survivor.url, token, QUEUE);
        return stats !== null && stats.ready + stats.delayed + stats.inFlight + stats.dead === 0;
      }, 30_000, survivor);

      expect(signal).toBe('SIGKILL');
      expect(distinctAtKill).toBeLessThan(TOTAL);
      expect(enqueued).toHaveLength(TOTAL);
      expect(enqueued.filter((id) => !recorder.distinct.has(id))).toEqual([]);
      expect(recorder.distinct.size).toBe(TOTAL);
      expect(recorder.deliveries.length).toBeGreaterThanOrEqual(TOTAL);
      // Both took part: the victim before it died, the survivor throughout.
      expect(victimBeforeKill).toBeGreaterThanOrEqual(MIN_SHARE);
      expect(recorder.count('b')).toBeGreaterThanOrEqual(MIN_SHARE);
      expect(survivor.proc.exitCode).toBeNull();
      // Whichever led before, the survivor leads the shared alert rule now (the killed hub's database session ended with it).
      await waitUntil('the survivor to evaluate the shared alert rule', async () => (await backlogRule(survivor))?.error === null, 30_000, survivor);
    } finally {
      for (const h of hubs) await h.stop().catch(() => undefined);
      await producer.deleteQueue(QUEUE).catch(() => undefined);
      await producer.close().catch(() => undefined);
      await recorder.stop();
      for (const d of [...dataDirs, flows]) rmSync(d, { recursive: true, force: true });
    }
  });
}, 180_000);
