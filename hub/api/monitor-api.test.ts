import express from 'express';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { testStoreKeys } from '../../test/support/store-keys';
import { TokenService } from '../auth/token-service';
import { UserDirectory } from '../auth/user-directory';
import { monitorRouter } from '../http/monitor';
import type { MonitorRouter } from '../http/monitor';
import type { MessageDetail, MonitorMe } from '../monitor/protocol';
import type { MessageOperations, OperationHistoryEntry } from '../monitor/types';
import { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';

/**
 * The monitor API with an operations provider wired (the built hub has none
 * until the queue lands): replay, edit-and-replay, discard and bulk replay,
 * each with a reason, each audited with its outcome.
 */
describe('monitor API operations', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let server: Server;
  let router: MonitorRouter;
  let url: string;
  let operator: string;
  let viewer: string;
  let ops: jest.Mocked<Required<MessageOperations>>;
  let id: string;
  let reprocessors: ReprocessRegistry;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'monitor-api-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    const users = new UserDirectory([
      { username: 'olga', role: 'operator', passwordHash: 'x' },
      { username: 'vic', role: 'viewer', passwordHash: 'x' },
    ]);
    const tokens = new TokenService(store.tokens, users);
    const session = async (u: string, role: 'operator' | 'viewer') => (await tokens.issue({ kind: 'session', name: 'login', subject: u, role, createdBy: u, ttlMs: 600_000 })).token;
    operator = await session('olga', 'operator');
    viewer = await session('vic', 'viewer');
    ops = {
      replay: jest.fn<Promise<void>, Parameters<MessageOperations['replay']>>(async () => undefined),
      discard: jest.fn<Promise<void>, Parameters<MessageOperations['discard']>>(async () => undefined),
      replayMatching: jest.fn<Promise<number>, Parameters<Required<MessageOperations>['replayMatching']>>(async () => 3),
      history: jest.fn<Promise<OperationHistoryEntry[]>, [string]>(async () => [{ event: 'failed', at: new Date(Date.now() + 1000), attempt: 1, code: 'TIMEOUT', message: 'no ACK within 15000 ms' }]),
    };
    reprocessors = new ReprocessRegistry();
    router = monitorRouter({ store, tokens, operations: ops, assetsDir: dir, reprocessors });
    const app = express();
    app.use(router);
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    id = (await store.insert({ direction: 'outbound', endpoint: 'lis', controlId: 'C1', messageType: 'ORU^R01', patientId: 'MRN-7', status: 'error', body: 'MSH|^~\\&|A|B|C|D|20260101||ORU^R01|C1|P|2.5.1\r' })).id;
  });

  afterEach(async () => {
    await router.close();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, token: string, body: unknown, type = 'application/json') =>
    fetch(`${url}/api/v1/monitor${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const auditOf = (action: string) => store.audit.list({ action });

  test('reprocess: offered on an inbound message whose receiving node runs, handed to that node with the record, audited; refused otherwise', async () => {
    const handled: string[] = [];
    const inbound = (await store.insert({ direction: 'inbound', endpoint: 'hl7-intake', nodeId: 'listener-1', controlId: 'C2', messageType: 'ORU^R01', status: 'error', errorCode: 'FLOW_ERROR', body: 'MSH|^~\\&|A|B|C|D|20260101||ORU^R01|C2|P|2.5.1\r' })).id;
    const detail = async (token: string) => ((await (await fetch(`${url}/api/v1/monitor/messages/${inbound}`, { headers: { authorization: `Bearer ${token}` } })).json()) as MessageDetail).operations.reprocess;
    // Not running (yet): not offered, and refused.
    expect(await detail(operator)).toBe(false);
    expect((await post(`/messages/${inbound}/reprocess`, operator, { reason: 'flow fixed' })).status).toBe(409);

    const unregister = reprocessors.register('listener-1', async (record) => void handled.push(`${record.id}:${record.body.toString('utf8').slice(0, 3)}`));
    expect(await detail(operator)).toBe(true);
    expect(await detail(viewer)).toBe(false);
    expect((await post(`/messages/${inbound}/reprocess`, viewer, { reason: 'flow fixed' })).status).toBe(403);
    expect((await post(`/messages/${inbound}/reprocess`, operator, {})).status).toBe(400);
    expect((await post(`/messages/${id}/reprocess`, operator, { reason: 'outbound' })).status).toBe(409);
    expect((await post(`/messages/${inbound}/reprocess`, operator, { reason: 'flow fixed' })).status).toBe(202);
    expect(handled).toEqual([`${inbound}:MSH`]);
    expect(await auditOf('message.reprocess')).toEqual([expect.objectContaining({ actor: 'olga', target: inbound, detail: { reason: 'flow fixed', endpoint: 'hl7-intake', via: 'monitor' } })]);

    // The node refuses (still in flight, unparseable…): 409 with its code, nothing audited.
    unregister();
    reprocessors.register('listener-1', async () => Promise.reject(Object.assign(new Error('busy'), { code: 'CONFIG' })));
    const refused = await post(`/messages/${inbound}/reprocess`, operator, { reason: 'again' });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toEqual({ error: 'the receiving node refused to reprocess it', code: 'CONFIG' });
    expect(await auditOf('message.reprocess')).toHaveLength(1);
  });

  test('features say operations are available', async () => {
    const me = (await (await fetch(`${url}/api/v1/monitor/me`, { headers: { authorization: `Bearer ${operator}` } })).json()) as MonitorMe;
    expect(me.features).toEqual({ operations: true, bulkReplay: true, queues: false });
  });

  test('replay needs a reason and a JSON body; it calls the queue and audits who, why and the outcome', async () => {
    expect((await post(`/messages/${id}/replay`, operator, {})).status).toBe(400);
    expect((await post(`/messages/${id}/replay`, operator, { reason: 'x' })).status).toBe(400);
    expect((await post(`/messages/${id}/replay`, operator, 'reason=because', 'application/x-www-form-urlencoded')).status).toBe(400);
    expect((await post(`/messages/${id}/replay`, viewer, { reason: 'because' })).status).toBe(403);
    expect((await post('/messages/nope/replay', operator, { reason: 'because' })).status).toBe(404);
    expect(ops.replay).not.toHaveBeenCalled();

    const res = await post(`/messages/${id}/replay`, operator, { reason: 'LIS back up after outage' });
    expect(res.status).toBe(202);
    expect(ops.replay).toHaveBeenCalledWith(id, 'LIS back up after outage', undefined, 'olga');
    expect(await auditOf('message.replay')).toEqual([expect.objectContaining({ actor: 'olga', target: id, detail: { reason: 'LIS back up after outage', edited: false, outcome: 'ok' } })]);
  });

  test('edit-and-replay passes the corrected body; the audit records that it was edited, not the body', async () => {
    const edited = 'MSH|^~\\&|A|B|C|D|20260101||ORU^R01|C1|P|2.5.1\rPID|1||FIXED-MRN\r';
    expect((await post(`/messages/${id}/replay`, operator, { reason: 'wrong MRN corrected', editedBody: edited })).status).toBe(202);
    expect(ops.replay.mock.calls[0]![2]!.toString('utf8')).toBe(edited);
    const [entry] = await auditOf('message.replay');
    expect(entry!.detail).toEqual({ reason: 'wrong MRN corrected', edited: true, editedBytes: Buffer.byteLength(edited), outcome: 'ok' });
    expect(JSON.stringify(entry)).not.toContain('FIXED-MRN');
  });

  test('discard is audited; a failing operation is audited as failed and answered with its code', async () => {
    expect((await post(`/messages/${id}/discard`, operator, { reason: 'duplicate of C0' })).status).toBe(202);
    expect(ops.discard).toHaveBeenCalledWith(id, 'duplicate of C0', 'olga');
    ops.replay.mockRejectedValueOnce(Object.assign(new Error('gone'), { code: 'NOT_DEAD_LETTERED', retryable: false }));
    const res = await post(`/messages/${id}/replay`, operator, { reason: 'try again' });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: 'operation failed', code: 'NOT_DEAD_LETTERED' });
    expect((await auditOf('message.discard'))[0]!.detail).toMatchObject({ reason: 'duplicate of C0', outcome: 'ok' });
    expect((await auditOf('message.replay'))[0]!.detail).toMatchObject({ reason: 'try again', outcome: 'failed', code: 'NOT_DEAD_LETTERED' });
  });

  test('bulk replay by filter: dry run counts, the queue replays, the audit keeps the patient key instead of the MRN', async () => {
    const dry = await post('/replay', operator, { filter: { patientId: 'MRN-7', status: 'error' }, dryRun: true });
    expect(await dry.json()).toEqual({ count: 1, limit: null });
    const res = await post('/replay', operator, { filter: { patientId: 'MRN-7', status: 'error' }, reason: 'outage 10:00-10:20' });
    expect(await res.json()).toEqual({ ok: true, replayed: 3 });
    expect(ops.replayMatching).toHaveBeenCalledWith(expect.objectContaining({ patientId: 'MRN-7', status: 'error' }), 'outage 10:00-10:20', 'olga');
    const [entry] = await auditOf('message.replay-bulk');
    expect(entry!.detail).toEqual({ reason: 'outage 10:00-10:20', filter: { patientKey: store.patientKey('MRN-7'), status: 'error' }, matched: 1, replayed: 3, outcome: 'ok' });
    expect(JSON.stringify(entry)).not.toContain('MRN-7');
  });

  test('without a bulk method the monitor replays the matches one by one', async () => {
    const { replayMatching: _omit, ...rest } = ops;
    await router.close();
    await new Promise((r) => server.close(r));
    router = monitorRouter({ store, tokens: new TokenService(store.tokens, new UserDirectory([{ username: 'olga', role: 'operator', passwordHash: 'x' }])), operations: rest, assetsDir: dir });
    const app = express();
    app.use(router);
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const second = await store.insert({ direction: 'outbound', endpoint: 'lis', controlId: 'C2', status: 'error', body: 'x' });
    const res = await post('/replay', operator, { filter: { endpoint: 'lis', status: 'error' }, reason: 'outage' });
    expect(await res.json()).toEqual({ ok: true, replayed: 2 });
    expect(ops.replay.mock.calls.map((c) => c[0]).sort()).toEqual([id, second.id].sort());
  });

  test('the detail view lists the operations with their reasons and the queue history in the lifecycle', async () => {
    await post(`/messages/${id}/replay`, operator, { reason: 'LIS back up' });
    const d = (await (await fetch(`${url}/api/v1/monitor/messages/${id}`, { headers: { authorization: `Bearer ${operator}` } })).json()) as MessageDetail;
    expect(d.operations).toEqual({ available: true, allowed: true, reason: null, reprocess: false });
    expect(d.lifecycle).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'audit', title: 'Replay requested', detail: 'LIS back up', actor: 'olga' }),
        expect.objectContaining({ kind: 'attempt', title: 'Attempt 1 failed: TIMEOUT' }),
      ]),
    );
    const v = (await (await fetch(`${url}/api/v1/monitor/messages/${id}`, { headers: { authorization: `Bearer ${viewer}` } })).json()) as MessageDetail;
    expect(v.operations).toEqual({ available: true, allowed: false, reason: 'Only operators may replay or discard.', reprocess: false });
    expect(v.body).toBeNull();
  });
});
