import { rmSync } from 'node:fs';
import { CANARY_MRN } from '../fixtures/canary';
import { RabbitMqQueue } from '../../adapters/queue';
import { login, startHubProcess, tempDataDir } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { auth, enqueueSynthetic, flowsDir, hubQueueStats, readyStatus, recorderFlow, SourceRecorder, sharedStoreKeys, waitUntil } from '../support/queue-hub';
import type { FlowNode } from '../support/queue-hub';
import { rabbitmqctl, requireRabbitMq, startRabbitMqApp, TEST_AMQP_URL, uniqueRabbitPrefix } from '../support/rabbitmq';

const QUEUE = 'restart';
const PRELOAD = 3000;
/** Deliveries answered before the recorder starts holding: the outage lands with messages in flight. */
const HOLD_AFTER = 1000;
const POSTS = 20;
const ADMIN_PASSWORD = 'queue-restart-admin-password';

let stopped = false;

beforeAll(async () => {
  await requireRabbitMq();
});

afterAll(async () => {
  // Never leave the machine's broker stopped for the next suite.
  if (stopped) await startRabbitMqApp();
});

/** http in → queue-out → the acknowledged id as a 202; a failed enqueue reaches the catch node and answers 503. */
const intake: FlowNode[] = [
  { id: 'rs-in', z: 'restart-tab', type: 'http in', name: '', url: '/restart-intake', method: 'post', upload: false, swaggerDoc: '', wires: [['rs-out']] },
  { id: 'rs-out', z: 'restart-tab', type: 'queue-out', name: '', queue: QUEUE, keyProperty: '', policy: '', wires: [['rs-id']] },
  { id: 'rs-id', z: 'restart-tab', type: 'change', name: '', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'queued.id', tot: 'msg' }], wires: [['rs-202']] },
  { id: 'rs-202', z: 'restart-tab', type: 'http response', name: '', statusCode: '202', headers: {}, wires: [] },
  { id: 'rs-catch', z: 'restart-tab', type: 'catch', name: '', scope: ['rs-out'], uncaught: false, wires: [['rs-503']] },
  { id: 'rs-503', z: 'restart-tab', type: 'http response', name: '', statusCode: '503', headers: {}, wires: [] },
];

type Posted = { status: number; id: string };

/** One message through the hub's HTTP intake; a transport failure counts as status 0 (not acknowledged). */
async function post(hub: HubProcess, token: string, body: string): Promise<Posted> {
  try {
    const res = await fetch(`${hub.url}/in/restart-intake`, { method: 'POST', headers: { ...auth(token), 'content-type': 'text/plain' }, body });
    return { status: res.status, id: await res.text() };
  } catch {
    return { status: 0, id: '' };
  }
}

/**
 * `rabbitmqctl stop_app` / `start_app` under a hub process consuming through
 * queue-in while deliveries are in flight (the recorder holds its answers, so
 * the hub holds unacknowledged messages when the broker goes): /readyz turns
 * 503, the hub reconnects by itself (/readyz 200 again), consumption resumes
 * and every message is delivered. Messages posted to the hub's HTTP intake
 * during the outage are either acknowledged (202, then delivered) or refused
 * (503); none is acknowledged and then lost, and no body reaches the hub's
 * log on the way.
 */
test('a broker restart under a consuming hub: it reconnects by itself and loses nothing', async () => {
  const prefix = uniqueRabbitPrefix();
  const recorder = new SourceRecorder();
  await recorder.start();
  recorder.holdFrom(HOLD_AFTER);
  const { env: keyEnv, cipher } = sharedStoreKeys();
  const flows = flowsDir([...recorderFlow('restart', QUEUE, 8), ...intake]);
  const dataDir = tempDataDir();
  const producer = new RabbitMqQueue({ url: TEST_AMQP_URL, prefix, cipher, reconnectMinMs: 100, reconnectMaxMs: 1000, closeTimeoutMs: 2000 });
  let hub: HubProcess | undefined;
  try {
    hub = await startHubProcess({
      ...keyEnv,
      HUB_DATA_DIR: dataDir,
      HUB_FLOWS_DIR: flows,
      HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
      // Every level, so the PHI check below covers what an outage logs (nothing at warn).
      HUB_LOG_LEVEL: 'debug',
      HUB_QUEUE_URL: TEST_AMQP_URL,
      HUB_QUEUE_PREFIX: prefix,
      HUB_QUEUE_POLICIES: JSON.stringify({ [QUEUE]: { prefetch: 32, concurrency: 8 } }),
      QH_RECORDER_URL: recorder.urlFor('hub'),
    }, 30_000);
    const h = hub;
    const token = await login(h.url, 'admin', ADMIN_PASSWORD);
    await producer.declareQueue(QUEUE);
    const preloaded = await enqueueSynthetic(producer, QUEUE, PRELOAD, 'restart');
    await waitUntil('the hub to hold deliveries in flight', () => recorder.held > 0, 60_000, h);

    const readiness: number[] = [];
    let distinctAtStop = 0;
    let brokerDown = false;
    let acknowledgedWhileDown = 0;
    let duringOutage: Promise<Posted[]>;
    try {
      stopped = true;
      distinctAtStop = recorder.distinct.size;
      await rabbitmqctl(['stop_app'], 120_000);
      brokerDown = true;
      await waitUntil('/readyz to report the broker gone', async () => (readiness.push(await readyStatus(h.url)), readiness.at(-1) === 503), 30_000, h);
      duringOutage = Promise.all(
        Array.from({ length: POSTS }, async (_, i) => {
          const p = await post(h, token, `sent during the outage ${i} for ${CANARY_MRN}`);
          if (p.status === 202 && brokerDown) acknowledgedWhileDown++;
          return p;
        }),
      );
      // The held deliveries finish while the broker is away: their acks have no channel to go to.
      await new Promise((r) => setTimeout(r, 1000));
      recorder.release();
      readiness.push(await readyStatus(h.url));
    } finally {
      brokerDown = false;
      await startRabbitMqApp();
      stopped = false;
    }
    await waitUntil('/readyz to report the hub ready again', async () => (readiness.push(await readyStatus(h.url)), readiness.at(-1) === 200), 60_000, h);
    const outage = await duringOutage;
    const after = await Promise.all(Array.from({ length: POSTS }, (_, i) => post(h, token, `sent after the restart ${i} for ${CANARY_MRN}`)));

    const acknowledged = [...outage, ...after].filter((p) => p.status === 202).map((p) => p.id);
    const expected = [...preloaded, ...acknowledged];
    await waitUntil(`all ${expected.length} acknowledged messages delivered (now ${recorder.distinct.size})`, () => expected.every((id) => recorder.distinct.has(id)), 60_000, h);
    await waitUntil('the queue to be empty', async () => {
      const stats = await hubQueueStats(h.url, token, QUEUE);
      return stats !== null && stats.ready + stats.delayed + stats.inFlight + stats.dead === 0;
    }, 30_000, h);

    // The outage came mid-run, and the hub went unready then ready again without a restart of its own.
    expect(distinctAtStop).toBeLessThan(PRELOAD);
    expect(readiness.indexOf(503)).toBeGreaterThanOrEqual(0);
    expect(readiness.lastIndexOf(200)).toBeGreaterThan(readiness.indexOf(503));
    expect(h.proc.exitCode).toBeNull();
    // The outage is in the log, which names the peer and codes, never a body.
    expect(h.output()).toMatch(/RabbitMQ connection lost/);
    expect(h.output()).not.toContain(CANARY_MRN);
    expect(h.output()).not.toContain('synthetic body');
    expect(h.output()).not.toContain('guest:guest');
    // Enqueues during the outage waited for the broker (none acknowledged while it was down) or were refused; after it they are accepted.
    expect(outage.filter((p) => p.status !== 202 && p.status !== 503)).toEqual([]);
    expect(acknowledgedWhileDown).toBe(0);
    expect(after.map((p) => p.status)).toEqual(Array(POSTS).fill(202));
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
    expect(expected.filter((id) => !recorder.distinct.has(id))).toEqual([]);
    // Nothing appears that was not sent: at most the refused posts were enqueued after all.
    expect(recorder.distinct.size).toBeLessThanOrEqual(PRELOAD + 2 * POSTS);
  } finally {
    recorder.release();
    await hub?.stop().catch(() => undefined);
    await producer.deleteQueue(QUEUE).catch(() => undefined);
    await producer.close().catch(() => undefined);
    await recorder.stop();
    for (const d of [dataDir, flows]) rmSync(d, { recursive: true, force: true });
  }
}, 180_000);
