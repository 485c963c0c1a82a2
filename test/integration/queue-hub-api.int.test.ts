import { CANARY_MRN } from '../fixtures/canary';
import { createToken, login, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { auth, deployFlows, functionNode, waitUntil } from '../support/queue-hub';
import type { FlowNode } from '../support/queue-hub';

/**
 * The dead-letter API in the hub process: a flow queue-out → queue-in → a
 * step that refuses the message for good (msg.retryable = false) puts it in
 * the dead letters after one attempt; an operator replays it with a
 * corrected body (reason required, audited), the flow then delivers it (a
 * store-record of the corrected body); a viewer may look but not replay.
 */
const ADMIN_PASSWORD = 'queue-api-admin-password';
const QUEUE = 'itq';

const flow: FlowNode[] = [
  { id: 'qa-tab', type: 'tab', label: 'queue api test' },
  { id: 'qa-in', z: 'qa-tab', type: 'http in', name: '', url: '/q-test', method: 'post', upload: false, swaggerDoc: '', wires: [['qa-out']] },
  { id: 'qa-out', z: 'qa-tab', type: 'queue-out', name: '', queue: QUEUE, keyProperty: '', policy: '{"maxAttempts": 3, "backoff": {"minMs": 50, "maxMs": 50, "jitter": 0}}', wires: [['qa-res']] },
  { id: 'qa-res', z: 'qa-tab', type: 'http response', name: '', statusCode: '202', headers: {}, wires: [] },
  { id: 'qa-qin', z: 'qa-tab', type: 'queue-in', name: '', queue: QUEUE, concurrency: '', timeout: '', drain: '', wires: [['qa-fn'], []] },
  functionNode({
    id: 'qa-fn',
    z: 'qa-tab',
    name: 'destination',
    // Stands in for a destination that answers "rejected" (an AR ACK, an HTTP 4xx) to anything but a corrected message.
    func: "if (!String(msg.payload).startsWith('corrected')) { msg.retryable = false; throw new Error('rejected ' + msg.payload); }\nreturn msg;",
    wires: [['qa-record']],
  }),
  { id: 'qa-record', z: 'qa-tab', type: 'store-record', name: '', direction: 'outbound', endpoint: 'itq-delivered', status: 'sent', contentType: 'text/plain', wires: [[]] },
];

describe('dead letters through the hub REST API', () => {
  let hub: HubProcess;
  let admin: string;
  let operator: string;
  let viewer: string;

  beforeAll(async () => {
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: ADMIN_PASSWORD });
    admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
    operator = await createToken(hub.url, admin, 'ops-desk', 'operator');
    viewer = await createToken(hub.url, admin, 'wallboard', 'viewer');
    await deployFlows(hub.url, admin, flow);
  }, 60_000);

  afterAll(async () => {
    await hub?.stop();
  });

  const api = (path: string, token: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${hub.url}/api/v1${path}`, { ...init, headers: { ...auth(token), 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });

  test('a permanently refused message is dead-lettered, replayed with a corrected body by an operator, delivered and audited', async () => {
    await waitUntil('the queue-in/queue-out queue to be served', async () => {
      const res = await api('/queues', viewer);
      return res.status === 200 && ((await res.json()) as { items: { queue: string }[] }).items.some((s) => s.queue === QUEUE);
    }, 15_000, hub);

    const sent = await fetch(`${hub.url}/in/q-test`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'text/plain' }, body: `original for ${CANARY_MRN}` });
    expect(sent.status).toBe(202);

    type Letter = { id: string; reason: string; attempts: number; lastError: { code: string; retryable: boolean } };
    let letters: Letter[] = [];
    await waitUntil('the dead letter', async () => {
      const res = await api(`/dead-letters?queue=${QUEUE}`, viewer);
      letters = ((await res.json()) as { items: Letter[] }).items;
      return letters.length === 1;
    }, 15_000, hub);
    const letter = letters[0]!;
    expect(letter).toMatchObject({ reason: 'permanent', attempts: 1, lastError: { code: 'FLOW_ERROR', retryable: false } });
    expect(JSON.stringify(letters)).not.toContain(CANARY_MRN);

    const viewerReplay = await api(`/dead-letters/${QUEUE}/${letter.id}/replay`, viewer, { method: 'POST', body: JSON.stringify({ reason: 'try again', body: 'corrected' }) });
    expect(viewerReplay.status).toBe(403);
    const noReason = await api(`/dead-letters/${QUEUE}/${letter.id}/replay`, operator, { method: 'POST', body: JSON.stringify({ body: 'corrected' }) });
    expect(noReason.status).toBe(400);
    const replay = await api(`/dead-letters/${QUEUE}/${letter.id}/replay`, operator, { method: 'POST', body: JSON.stringify({ reason: 'MRN fixed at the source', body: 'corrected message' }) });
    expect(replay.status).toBe(204);

    type Stored = { id: string; body?: { data: string } };
    let delivered: Stored[] = [];
    await waitUntil('the corrected message to be delivered', async () => {
      const res = await api('/messages?endpoint=itq-delivered', admin);
      delivered = ((await res.json()) as { items: Stored[] }).items;
      return delivered.length === 1;
    }, 15_000, hub);
    const stored = (await (await api(`/messages/${delivered[0]!.id}?includeBody=true`, admin)).json()) as Stored;
    expect(stored.body?.data).toBe('corrected message');
    expect(((await (await api(`/dead-letters?queue=${QUEUE}`, viewer)).json()) as { items: unknown[] }).items).toEqual([]);

    const audit = (await (await api('/audit?action=dead-letter.replay', admin)).json()) as { items: { action: string; target: string; detail: { reason: string; edited: boolean } }[] };
    expect(audit.items).toEqual([expect.objectContaining({ action: 'dead-letter.replay', target: `${QUEUE}/${letter.id}`, detail: expect.objectContaining({ reason: 'MRN fixed at the source', edited: true }) })]);

    const doc = (await (await fetch(`${hub.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/queues', '/dead-letters', '/dead-letters/{queue}/{id}/replay']));
    expect(hub.output()).not.toContain(CANARY_MRN);
  });
});
