import { InMemoryQueue, QueueDirectory } from '../../adapters/queue';
import type { MessageQueueEvents } from '../../adapters/queue';
import { getHubServices, setHubServices } from '../../adapters/shared/registry';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { eventually, startTestHub, stepBehaviour, testStepNode, withHooks } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import queueOutInit = require('../queue-out/queue-out');
import queueInInit = require('./queue-in');

helper.init(require.resolve('node-red'));

const nodes = [withCatalog(queueOutInit, `${__dirname}/../queue-out`, 'queue-out'), withHooks(withCatalog(queueInInit, __dirname, 'queue-in')), testStepNode];

/** Fast, jitter-free retries so a retried message comes back within milliseconds. */
const FAST = { maxAttempts: 3, backoff: { minMs: 5, maxMs: 5, factor: 1, jitter: 0 } };

/** queue-out → (queue q1) → queue-in → step1; escalations to esc; a Catch node for the whole tab. */
function flow(queueIn: Record<string, unknown> = {}, policy: Record<string, unknown> = FAST): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'queue test' },
    { id: 'qo', z: 'f1', type: 'queue-out', name: '', queue: 'q1', keyProperty: 'patientKey', policy: JSON.stringify(policy), wires: [['queued']] },
    { id: 'queued', z: 'f1', type: 'helper' },
    { id: 'qi', z: 'f1', type: 'queue-in', name: '', queue: 'q1', concurrency: '', timeout: '', drain: '', ...queueIn, wires: [['step1'], ['esc']] },
    { id: 'step1', z: 'f1', type: 'test-step', wires: [] },
    { id: 'esc', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

function nextEvent<K extends keyof MessageQueueEvents>(queue: InMemoryQueue, event: K): Promise<MessageQueueEvents[K]> {
  return new Promise((resolve) => queue.once(event, ((...args: MessageQueueEvents[K]) => resolve(args)) as never));
}

describe('queue-in and queue-out nodes', () => {
  let hub: TestHub;
  let queue: InMemoryQueue;
  let directory: QueueDirectory;
  let statuses: StatusTap[];

  beforeEach(async () => {
    hub = await startTestHub();
    queue = new InMemoryQueue({ closeTimeoutMs: 1000 }, { logger: hub.logger });
    directory = new QueueDirectory();
    setHubServices({ ...getHubServices(), queue, queueDirectory: directory });
    await helper.startServer();
  });

  afterEach(async () => {
    stepBehaviour('step1', undefined);
    await helper.unload();
    await helper.stopServer();
    await queue.close();
    await hub.close();
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(statuses.flatMap((s) => s.all))).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  async function load(queueIn: Record<string, unknown> = {}, policy?: Record<string, unknown>): Promise<{ queued: MessageTap; steps: MessageTap; esc: MessageTap; caught: MessageTap }> {
    await helper.load(nodes, flow(queueIn, policy));
    statuses = [new StatusTap('qo'), new StatusTap('qi')];
    return { queued: new MessageTap('queued'), steps: new MessageTap('step1'), esc: new MessageTap('esc'), caught: new MessageTap('caught') };
  }

  const send = (msg: Record<string, unknown>): void => void flowNode('qo').receive(msg);

  async function drained(): Promise<void> {
    await eventually(async () => {
      const s = await queue.stats('q1');
      return s.ready + s.delayed + s.inFlight === 0;
    }, 'queue q1 to be empty');
  }

  test('enqueue → consume → ack: the payload, its type and the id come back; the flow completing acknowledges it', async () => {
    const { queued, steps } = await load();
    send({ payload: canaryOru('CTRL-1'), hubMessageId: 'm-1', messageType: 'ORU^R01', controlId: 'CTRL-1', patientKey: 'pk-1' });
    expect((await queued.next()).queued).toEqual({ queue: 'q1', id: 'm-1' });
    const got = await steps.next();
    expect(got).toMatchObject({ payload: canaryOru('CTRL-1'), hubMessageId: 'm-1', messageType: 'ORU^R01', controlId: 'CTRL-1', queue: { name: 'q1', attempt: 1, key: 'pk-1' } });
    expect(typeof (got.queue as { deadline: unknown }).deadline).toBe('string');

    send({ payload: { mrnHash: 'x', n: 2 } });
    send({ payload: Buffer.from([0, 1, 2, 255]) });
    const generated = (await queued.next()).queued as { id: string };
    expect(generated.id).toMatch(/^[0-9a-f-]{36}$/);
    await queued.next();
    const json = await steps.next();
    const bytes = await steps.next();
    expect(json).toMatchObject({ payload: { mrnHash: 'x', n: 2 }, hubMessageId: generated.id });
    expect(Buffer.isBuffer(bytes.payload) && [...(bytes.payload as Buffer)]).toEqual([0, 1, 2, 255]);
    await drained();
    expect(await queue.stats('q1')).toMatchObject({ dead: 0 });
    expect(directory.names()).toEqual(['q1']);
  });

  test('while a required setting is unset the node takes nothing: messages wait, shown as waiting for configuration; set, they drain', async () => {
    delete process.env.HUB_TEST_DESTINATION_URL;
    let { queued } = await load({ requires: 'HUB_TEST_DESTINATION_URL' });
    send({ payload: 'held', hubMessageId: 'held-1' });
    await queued.next();
    expect(await queue.stats('q1')).toMatchObject({ ready: 1, inFlight: 0 });
    expect(directory.waitingFor('q1')).toEqual(['HUB_TEST_DESTINATION_URL']);
    expect(await statuses[1]!.until((st) => st.fill === 'yellow')).toEqual({ fill: 'yellow', shape: 'ring', text: 'q1: waiting for configuration (HUB_TEST_DESTINATION_URL)' });

    await helper.unload();
    expect(directory.waitingFor('q1')).toBeNull();
    process.env.HUB_TEST_DESTINATION_URL = 'https://emr.invalid/fhir';
    try {
      ({ queued } = await load({ requires: 'HUB_TEST_DESTINATION_URL' }));
      const steps = new MessageTap('step1');
      expect(await steps.next()).toMatchObject({ payload: 'held', hubMessageId: 'held-1' });
      await drained();
      expect(directory.waitingFor('q1')).toBeNull();
    } finally {
      delete process.env.HUB_TEST_DESTINATION_URL;
    }
  });

  test('a downstream done(err) reaches the Catch node and the message is retried until the flow completes it', async () => {
    const { steps, caught } = await load();
    let calls = 0;
    stepBehaviour('step1', (msg, send, done) => {
      calls += 1;
      if (calls === 1) done(new Error(`destination refused ${CANARY_MRN}`));
      else {
        send(msg);
        done();
      }
    });
    send({ payload: canaryOru('CTRL-2'), hubMessageId: 'm-2' });
    expect((await steps.next()).queue).toMatchObject({ attempt: 1 });
    expect((await caught.next()).hubMessageId).toBe('m-2');
    const second = await steps.next();
    expect(second).toMatchObject({ hubMessageId: 'm-2', payload: canaryOru('CTRL-2'), queue: { attempt: 2 } });
    await drained();
    expect((await queue.stats('q1')).dead).toBe(0);
  });

  test('an error reported with node.error(err, msg) before done() (as the http request node does) also fails the attempt', async () => {
    const { steps, caught } = await load();
    let calls = 0;
    stepBehaviour('step1', (msg, _send, done) => {
      calls += 1;
      if (calls === 1) flowNode('step1').error(Object.assign(new Error(`connect refused for ${CANARY_MRN}`), { code: 'ECONNREFUSED' }), msg);
      done();
    });
    send({ payload: canaryOru('CTRL-7'), hubMessageId: 'm-7' });
    expect((await steps.next()).queue).toMatchObject({ attempt: 1 });
    await caught.next();
    expect(await steps.next()).toMatchObject({ hubMessageId: 'm-7', queue: { attempt: 2 } });
    await drained();
    expect((await queue.stats('q1')).dead).toBe(0);
    await statuses[1]!.until((s) => typeof s.text === 'string' && s.text.includes('ECONNREFUSED'));
  });

  test('msg.retryable === false makes the failure permanent: dead-lettered after one attempt', async () => {
    const { steps } = await load();
    stepBehaviour('step1', (msg, _send, done) => {
      msg.retryable = false;
      done(new Error(`AR for ${CANARY_MRN}`));
    });
    const dead = nextEvent(queue, 'deadLettered');
    send({ payload: canaryOru('CTRL-3'), hubMessageId: 'm-3' });
    await steps.next();
    const [info] = await dead;
    expect(info).toMatchObject({ queue: 'q1', id: 'm-3', reason: 'permanent', attempts: 1, errorCode: 'FLOW_ERROR' });
    const letter = await queue.getDeadLetter('q1', 'm-3', { includeBody: true });
    expect(letter?.body?.toString()).toBe(canaryOru('CTRL-3'));
    // The foreign error's text (which quotes the MRN) is not kept.
    expect(canariesIn(letter?.history)).toEqual([]);
    expect(steps.pending).toBe(0);
  });

  test('a flow that does not complete in time fails the attempt (TIMEOUT) and the message is retried', async () => {
    const { steps } = await load({ timeout: '50' });
    const status = statuses[1]!;
    let calls = 0;
    stepBehaviour('step1', (_msg, _send, done) => {
      calls += 1;
      if (calls > 1) done();
    });
    send({ payload: canaryOru('CTRL-4'), hubMessageId: 'm-4' });
    expect((await steps.next()).queue).toMatchObject({ attempt: 1 });
    expect((await steps.next())).toMatchObject({ hubMessageId: 'm-4', queue: { attempt: 2 } });
    await status.until((s) => typeof s.text === 'string' && s.text.includes('TIMEOUT'));
    await drained();
    expect((await queue.stats('q1')).dead).toBe(0);
  });

  test('escalations of the queue come out of output 2 without the body', async () => {
    // The warning window covers the whole life of the message, so its first failure escalates.
    const { esc } = await load({}, { ...FAST, maxAgeMs: 3_600_000, deadlineWarningMs: 3_600_000 });
    let calls = 0;
    stepBehaviour('step1', (_msg, _send, done) => {
      calls += 1;
      if (calls === 1) done(Object.assign(new Error('upstream down'), { code: 'ECONNREFUSED' }));
      else done();
    });
    send({ payload: canaryOru('CTRL-5'), hubMessageId: 'm-5', patientKey: 'pk-5' });
    const out = await esc.next();
    expect(out.escalation).toEqual(out.payload);
    expect(out.payload).toMatchObject({ kind: 'approaching', action: 'retry', queue: 'q1', id: 'm-5', attempts: 1, lastErrorCode: 'ECONNREFUSED' });
    expect(typeof (out.payload as { deadline: unknown }).deadline).toBe('string');
    expect(JSON.stringify(out)).not.toContain('CTRL-5');
    expect(canariesIn(out)).toEqual([]);
    await drained();
  });

  test('a redeploy while the flow holds a message gives it back; the new flow gets it again', async () => {
    const { steps } = await load({ drain: '50' });
    stepBehaviour('step1', () => undefined);
    send({ payload: canaryOru('CTRL-6'), hubMessageId: 'm-6' });
    await steps.next();
    expect((await queue.stats('q1')).inFlight).toBe(1);

    await helper.unload();
    stepBehaviour('step1', undefined);
    const again = await load({ drain: '50' });
    const redelivered = await again.steps.next();
    expect(redelivered).toMatchObject({ hubMessageId: 'm-6', payload: canaryOru('CTRL-6') });
    await drained();
    expect((await queue.stats('q1')).dead).toBe(0);
  });

  test('queue-out without a usable queue name reports a config error and registers nothing', async () => {
    await helper.load(nodes, [{ id: 'f1', type: 'tab' }, { id: 'qo', z: 'f1', type: 'queue-out', queue: 'not a name!', keyProperty: '', policy: '', wires: [] }]);
    statuses = [new StatusTap('qo')];
    await statuses[0]!.until((s) => s.fill === 'red' && s.text === 'error: CONFIG');
    expect(directory.names()).toEqual([]);
  });

  test('a failed enqueue goes to the Catch node with msg.retryable; nothing is passed on', async () => {
    const { queued, caught } = await load();
    send({ payload: 'x', hubMessageId: 'has spaces' });
    const failed = (await caught.next()) as TestMsg & { error: { message: string } };
    expect(failed.retryable).toBe(false);
    expect(failed.error.message).toContain('message ids');
    expect(queued.pending).toBe(0);
  });
});
