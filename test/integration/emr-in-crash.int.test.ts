import { signWebhook } from '../../adapters/emr';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { CANARY_MRN } from '../fixtures/canary';
import { ageRecord } from '../support/age-record';
import { startHubProcess, tempDataDir } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { flowsDir, holdingNode, recordsOf, waitUntil } from '../support/queue-hub';
import type { FlowNode } from '../support/queue-hub';

/**
 * kill -9 of a hub after it answered the EMR 202 for an event and before
 * the flow finished with it: the EMR will not resend it, so the restarted
 * hub sends the stored event through the flow again, and it arrives once.
 */
const SECRET = 'emr-crash-webhook-secret-0123456789';
const ADMIN_PASSWORD = 'emr-crash-admin-password';

const flows: FlowNode[] = [
  { id: 'ec-tab', type: 'tab', label: 'emr crash test' },
  { id: 'ec-srv', type: 'emr-server', name: 'emr-core (crash test)', baseUrl: '', authType: 'none', webhookSecretEnv: 'HUB_EMR_WEBHOOK_SECRET', signatureHeader: 'x-emr-signature', tolerance: 300 },
  { id: 'ec-in', z: 'ec-tab', type: 'emr-in', name: 'emr-crash', server: 'ec-srv', path: '/emr/crash-test', wires: [['ec-hold']] },
  holdingNode({ id: 'ec-hold', z: 'ec-tab', name: 'slow destination', wires: [['ec-done']] }),
  { id: 'ec-done', z: 'ec-tab', type: 'store-record', name: '', direction: 'outbound', endpoint: 'emr-crash-done', status: 'sent', contentType: 'application/json', wires: [[]] },
];

describe('emr-in: an event answered 202 and never finished survives kill -9', () => {
  let hub: HubProcess | undefined;

  afterEach(async () => {
    await hub?.stop();
  });

  test('the restarted hub sends it through the flow again, once', async () => {
    const dataDir = tempDataDir();
    const env = { HUB_DATA_DIR: dataDir, HUB_FLOWS_DIR: flowsDir(flows), HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, HUB_EMR_WEBHOOK_SECRET: SECRET };
    hub = await startHubProcess({ ...env, HOLD_MS: '600000' });
    const body = JSON.stringify({ id: 'evt-crash-1', type: 'charge.posted', occurredAt: '2026-12-05T10:00:00Z', data: { chargeId: 'CHG-9', patientId: CANARY_MRN, accountId: 'ACCT-9', code: '58970', amount: { value: 3500, currency: 'USD' }, serviceDate: '2026-12-04', diagnoses: ['N97.9'] } });
    const res = await fetch(`${hub.url}/in/emr/crash-test`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-emr-signature': signWebhook(SECRET, body, Math.floor(Date.now() / 1000)) }, body });
    expect(res.status).toBe(202);

    const list = (h: HubProcess, endpoint: string): ReturnType<typeof recordsOf> => recordsOf(h, ADMIN_PASSWORD, endpoint);
    const [event] = await list(hub, 'emr-crash');
    expect(event).toMatchObject({ status: 'processing', attempts: 0 });
    expect(await list(hub, 'emr-crash-done')).toEqual([]);

    hub.proc.kill('SIGKILL');
    expect((await hub.exited).signal).toBe('SIGKILL');
    // As if the restart came a minute later: sooner, the hub waits that long for another process that might own it.
    ageRecord(dataDir, event!.id, FOLLOW_TIMEOUT_MS + 1000);

    hub = await startHubProcess({ ...env, HOLD_MS: '0' });
    const restarted = hub;
    await waitUntil('the event to go through the flow', async () => (await list(restarted, 'emr-crash-done')).length === 1, 15_000, restarted);
    await waitUntil('the event record to be sent', async () => (await list(restarted, 'emr-crash'))[0]?.status === 'sent', 15_000, restarted);
    expect(await list(restarted, 'emr-crash')).toEqual([expect.objectContaining({ id: event!.id, status: 'sent', attempts: 1 })]);
    expect(await list(restarted, 'emr-crash-done')).toHaveLength(1);
    expect(restarted.output()).toContain('intake recovered messages a previous run left unfinished');
    expect(restarted.output()).not.toContain(CANARY_MRN);
  }, 60_000);
});
