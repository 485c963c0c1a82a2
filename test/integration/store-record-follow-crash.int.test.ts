import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { CANARY_MRN } from '../fixtures/canary';
import { ageRecord } from '../support/age-record';
import { createToken, login, startHubProcess, tempDataDir } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { flowsDir, holdingNode, recordsOf, waitUntil } from '../support/queue-hub';
import type { FlowNode } from '../support/queue-hub';

/**
 * kill -9 of a hub after an HTTP route answered 202 for a stored file (the
 * clearinghouse POST's shape: store record with Follow the flow, answered
 * once stored) and before the flow finished with it: the sender will not
 * resend it, so the restarted hub sends the stored file through the flow
 * again, without an HTTP answer, and it arrives downstream once.
 */
const ADMIN_PASSWORD = 'follow-crash-admin-password';

const flows: FlowNode[] = [
  { id: 'fc-tab', type: 'tab', label: 'store record follow crash test' },
  { id: 'fc-in', z: 'fc-tab', type: 'http in', name: '', url: '/follow-crash', method: 'post', upload: false, swaggerDoc: '', wires: [['fc-store']] },
  { id: 'fc-store', z: 'fc-tab', type: 'store-record', name: '', direction: 'inbound', endpoint: 'follow-crash', status: 'received', contentType: 'text/plain', follow: true, processingTimeoutMs: '', wires: [['fc-answer?', 'fc-hold']] },
  { id: 'fc-answer?', z: 'fc-tab', type: 'switch', name: 'an HTTP sender to answer?', property: 'res', propertyType: 'msg', rules: [{ t: 'nnull' }], checkall: 'true', repair: false, outputs: 1, wires: [['fc-202']] },
  { id: 'fc-202', z: 'fc-tab', type: 'change', name: '', rules: [{ t: 'set', p: 'statusCode', pt: 'msg', to: '202', tot: 'num' }, { t: 'set', p: 'payload', pt: 'msg', to: '{"id": $$.hubMessageId}', tot: 'jsonata' }], wires: [['fc-res']] },
  { id: 'fc-res', z: 'fc-tab', type: 'http response', name: '', statusCode: '', headers: {}, wires: [] },
  holdingNode({ id: 'fc-hold', z: 'fc-tab', name: 'slow posting', wires: [['fc-done']] }),
  { id: 'fc-done', z: 'fc-tab', type: 'store-record', name: '', direction: 'outbound', endpoint: 'follow-crash-done', status: 'sent', contentType: 'text/plain', wires: [[]] },
];

describe('store record, Follow the flow: a file answered 202 and never finished survives kill -9', () => {
  let hub: HubProcess | undefined;

  afterEach(async () => {
    await hub?.stop();
  });

  test('the restarted hub sends it through the flow again, once, and settles its record sent', async () => {
    const dataDir = tempDataDir();
    const env = { HUB_DATA_DIR: dataDir, HUB_FLOWS_DIR: flowsDir(flows), HUB_ADMIN_PASSWORD: ADMIN_PASSWORD };
    hub = await startHubProcess({ ...env, HOLD_MS: '600000' });
    const admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
    const token = await createToken(hub.url, admin, 'clearinghouse', 'operator');
    const res = await fetch(`${hub.url}/in/follow-crash`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: `ISA*00*file for ${CANARY_MRN}~` });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const list = (h: HubProcess, endpoint: string): ReturnType<typeof recordsOf> => recordsOf(h, ADMIN_PASSWORD, endpoint);
    expect(await list(hub, 'follow-crash')).toEqual([expect.objectContaining({ id, status: 'processing', attempts: 0 })]);
    expect(await list(hub, 'follow-crash-done')).toEqual([]);

    hub.proc.kill('SIGKILL');
    expect((await hub.exited).signal).toBe('SIGKILL');
    // As if the restart came a minute later: sooner, the hub waits that long for another process that might own it.
    ageRecord(dataDir, id, FOLLOW_TIMEOUT_MS + 1000);

    hub = await startHubProcess({ ...env, HOLD_MS: '0' });
    const restarted = hub;
    await waitUntil('the file to go through the flow', async () => (await list(restarted, 'follow-crash-done')).length === 1, 15_000, restarted);
    await waitUntil('the file record to be sent', async () => (await list(restarted, 'follow-crash'))[0]?.status === 'sent', 15_000, restarted);
    expect(await list(restarted, 'follow-crash')).toEqual([expect.objectContaining({ id, status: 'sent', attempts: 1 })]);
    expect(await list(restarted, 'follow-crash-done')).toHaveLength(1);
    expect(restarted.output()).toContain('intake recovered messages a previous run left unfinished');
    expect(restarted.output()).not.toContain(CANARY_MRN);
  }, 60_000);
});
