import { join } from 'node:path';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { ageRecord } from '../../test/support/age-record';
import { pollUntil } from '../../test/support/poll';
import { helper, MessageTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import clearinghouseInit = require('../clearinghouse/clearinghouse');
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import clearinghouseInInit = require('./clearinghouse-in');

helper.init(require.resolve('node-red'));

const ERA = 'ISA*00*          *00*          *ZZ*CLEARINGHOUSE  *ZZ*IVFCLINIC      *261204*1200*^*00501*000000101*0*P*:~GS*HP*CH*IVF*20261204*1200*101*X*005010X221A1~ST*835*0001~SE*2*0001~GE*1*101~IEA*1*000000101~';

/**
 * The flow side of clearinghouse-in without a server: a file a previous run
 * stored (its move on the server done, or left for a poll that only
 * archives it) and never saw through the flow goes through it at start.
 */
describe('clearinghouse-in: files a previous run stored and never saw through the flow', () => {
  let hub: HubHarness;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  test('go through the flow once the flows start, and can be reprocessed by an operator', async () => {
    const left = await hub.store.insert({ direction: 'inbound', endpoint: 'answers', nodeId: 'in1', flowId: 'f1', controlId: 'sha256:abc', messageType: 'X12 835', status: 'processing', contentType: 'application/edi-x12', body: ERA });
    ageRecord(hub.dir, left.id, FOLLOW_TIMEOUT_MS + 1000);
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      // No login: nothing is polled, the stored files are still the node's.
      { id: 'ch', type: 'clearinghouse', name: 'answers', transport: 'sftp', host: '', port: '22', username: '', remoteDir: '', tempDir: '', hostKeySha256: '', url: '' },
      { id: 'in1', z: 'f1', type: 'clearinghouse-in', clearinghouse: 'ch', inboxDir: '', pattern: '', interval: '60', afterPickup: 'archive', archiveDir: '', wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
    ];
    await helper.load([hub.capture(withCatalog(clearinghouseInit, join(__dirname, '..', 'clearinghouse'), 'clearinghouse')), hub.capture(withCatalog(clearinghouseInInit, __dirname, 'clearinghouse-in'))], flow, {});
    const out = new MessageTap('out');
    const msg = await out.next();
    expect(msg).toMatchObject({ payload: ERA, fileName: null, hubMessageId: left.id, messageType: 'X12 835' });
    await pollUntil('the leftover to be sent', async () => (await hub.store.get(left.id))?.status === 'sent');
    expect((await hub.store.get(left.id))?.attempts).toBe(1);

    const stored = (await hub.store.get(left.id, { includeBody: true }))!;
    await hub.reprocessors.get('in1')!({ ...stored, body: stored.body! });
    expect((await out.next()).payload).toBe(ERA);
    await pollUntil('the reprocess to be sent', async () => (await hub.store.get(left.id))?.attempts === 2);
  });
});
