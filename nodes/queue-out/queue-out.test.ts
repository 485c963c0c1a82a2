import { InMemoryQueue, QueueDirectory } from '../../adapters/queue';
import { getHubServices, setHubServices } from '../../adapters/shared/registry';
import { canaryOru } from '../../test/fixtures/canary';
import { startTestHub } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import queueOutInit = require('./queue-out');

helper.init(require.resolve('node-red'));

const queueOutNode = withCatalog(queueOutInit, __dirname, 'queue-out');

describe('queue-out node', () => {
  let hub: TestHub;
  let queue: InMemoryQueue;
  let directory: QueueDirectory;

  beforeEach(async () => {
    hub = await startTestHub();
    queue = new InMemoryQueue({}, { logger: hub.logger });
    directory = new QueueDirectory(['configured']);
    setHubServices({ ...getHubServices(), queue, queueDirectory: directory });
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await queue.close();
    await hub.close();
  });

  test('declares its queue with the policy overrides, stores the msg durably before passing it on, and keeps the queue in the directory while deployed', async () => {
    await helper.load(queueOutNode, [
      { id: 'f1', type: 'tab' },
      { id: 'qo', z: 'f1', type: 'queue-out', queue: 'lis-results', keyProperty: 'patientKey', policy: '{"maxAttempts": 7, "ordering": "key"}', wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
    ]);
    const out = new MessageTap('out');
    const status = new StatusTap('qo');
    flowNode('qo').receive({ payload: canaryOru('C-1'), hubMessageId: 'h-1', patientKey: 'pk-9' } as never);
    const msg = await out.next();
    expect(msg.queued).toEqual({ queue: 'lis-results', id: 'h-1' });
    // The output fired after the enqueue resolved: the message is already there.
    expect((await queue.stats('lis-results')).ready).toBe(1);
    expect(queue.policyFor('lis-results')).toMatchObject({ maxAttempts: 7, ordering: 'key' });
    expect(directory.names()).toEqual(['configured', 'lis-results']);
    await status.until((s) => s.text === 'lis-results: queued 1');
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);

    await helper.unload();
    expect(directory.names()).toEqual(['configured']);
  });

  test('invalid policy JSON is a config error, not a crash', async () => {
    await helper.load(queueOutNode, [{ id: 'f1', type: 'tab' }, { id: 'qo', z: 'f1', type: 'queue-out', queue: 'q', keyProperty: '', policy: '{nope', wires: [] }]);
    await new StatusTap('qo').until((s) => s.text === 'error: CONFIG');
    expect(directory.names()).toEqual(['configured']);
  });
});
