import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '../../adapters/hl7';
import { HealthRegistry } from '../../adapters/shared/health-registry';
import { silentLogger } from '../../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../../adapters/shared/registry';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore, MessageRecord } from '../../adapters/store';
import { ackFor, gate, ScriptedHl7Peer } from '../../adapters/hl7-send/testing/scripted-hl7-peer';
import { CANARY_MRN, CANARY_NAME, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { testStoreKeys } from '../../test/support/store-keys';
import endpointInit = require('../mllp-endpoint/mllp-endpoint');
import mllpOutInit = require('./mllp-out');

helper.init(require.resolve('node-red'));

const endpointNode = withCatalog(endpointInit, join(__dirname, '..', 'mllp-endpoint'), 'mllp-endpoint');
const mllpOutNode = withCatalog(mllpOutInit, __dirname, 'mllp-out');

/** Node-RED's numeric level for `node.error` (RED.log.ERROR). */
const LOG_ERROR = 20;

interface CaughtError {
  message: string;
  code?: string;
  source: { id: string };
}

describe('mllp-out node', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  let peer: ScriptedHl7Peer;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-mllp-out-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    setHubServices({ store, logger: silentLogger, health: new HealthRegistry() });
    peer = await ScriptedHl7Peer.start();
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await peer.close();
    clearHubServices();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function flow(out: Record<string, unknown> = {}, endpoint: Record<string, unknown> = {}, withCatch = true): FlowNode[] {
    const nodes: FlowNode[] = [
      { id: 'f1', type: 'tab', label: 'mllp-out test' },
      {
        id: 'ep1',
        type: 'mllp-endpoint',
        name: 'emr-mllp',
        host: '127.0.0.1',
        port: String(peer.port),
        tls: false,
        connections: '1',
        ackTimeout: '5000',
        reconnectMin: '50',
        reconnectMax: '200',
        aeRetryable: false,
        ...endpoint,
      },
      { id: 'n1', z: 'f1', type: 'mllp-out', name: '', endpoint: 'ep1', timeout: '', ordering: 'none', orderingProperty: 'orderKey', record: true, ...out, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
    ];
    if (withCatch) {
      nodes.push(
        { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
        { id: 'caught', z: 'f1', type: 'helper' },
      );
    }
    return nodes;
  }

  async function load(out: Record<string, unknown> = {}, endpoint: Record<string, unknown> = {}): Promise<{ out: MessageTap; caught: MessageTap; status: StatusTap }> {
    await helper.load([endpointNode, mllpOutNode], flow(out, endpoint));
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  async function record(id: unknown): Promise<MessageRecord> {
    expect(typeof id).toBe('string');
    const found = await store.get(id as string, { includeBody: true });
    if (!found) throw new Error(`record ${String(id)} is not in the store`);
    return found;
  }

  async function ackRecordOf(parentId: string): Promise<MessageRecord> {
    const [ack] = (await store.search({ parentId })).items;
    if (!ack) throw new Error(`no related record for ${parentId}`);
    return (await store.get(ack.id, { includeBody: true })) as MessageRecord;
  }

  function noPhiIn(...things: unknown[]): void {
    for (const thing of things) expect(canariesIn(thing)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  }

  test('AA: the msg goes on with hl7Ack and ackRaw; message and ACK are recorded', async () => {
    const { out, caught, status } = await load();
    const inbound = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', body: 'trigger' });

    flowNode('n1').receive({ payload: canaryOru('CTRL-1'), hubMessageId: inbound.id } as TestMsg);
    const msg = await out.next();

    expect(msg.hl7Ack).toEqual({ code: 'AA', controlId: 'CTRL-1', ackControlId: 'ACK-CTRL-1', errors: [] });
    expect(parse(msg.ackRaw as string).segments[1]?.fields).toEqual(['MSA', 'AA', 'CTRL-1']);
    expect(msg.retryable).toBeUndefined();
    const outbound = await record(msg.hubMessageId);
    expect(outbound).toMatchObject({
      direction: 'outbound',
      endpoint: 'emr-mllp',
      nodeId: 'n1',
      flowId: 'f1',
      status: 'sent',
      attempts: 1,
      controlId: 'CTRL-1',
      messageType: 'ORU^R01',
      parentId: inbound.id,
      patientKey: store.patientKey(CANARY_MRN),
    });
    expect(outbound.body?.toString()).toBe(canaryOru('CTRL-1'));
    const ack = await ackRecordOf(outbound.id);
    expect(ack).toMatchObject({ direction: 'inbound', status: 'sent', controlId: 'ACK-CTRL-1', messageType: 'ACK^R01' });
    expect(ack.body?.toString()).toBe(msg.ackRaw);
    await status.until((s) => s.text === 'acked 1');
    expect(status.all).toContainEqual({ fill: 'blue', shape: 'dot', text: 'sending' });
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'acked 1' });
    expect(caught.pending).toBe(0);
    noPhiIn(status.all);
  });

  test('msg.hl7 is sent when there is no payload', async () => {
    const { out } = await load();
    flowNode('n1').receive({ hl7: parse(canaryOru('CTRL-2').replace(/\r/g, '\n')) } as TestMsg);
    const msg = await out.next();
    expect((msg.hl7Ack as { controlId: string }).controlId).toBe('CTRL-2');
    expect((await peer.message(0)).text).toBe(canaryOru('CTRL-2'));
  });

  test('AE with ERR: Catch gets code NACK, msg.retryable false, hl7Ack; nothing PHI in error, status or logs', async () => {
    const { out, caught, status } = await load();
    peer.script((m) =>
      ackFor(m, 'AE', { text: `unknown patient ${CANARY_NAME}`, errors: [{ code: 204, location: 'PID-3', text: `MRN ${CANARY_MRN} not on file` }] }),
    );

    flowNode('n1').receive({ payload: canaryOru('CTRL-3'), patientId: CANARY_MRN } as TestMsg);
    const failed = await caught.next();

    const error = failed.error as CaughtError;
    expect(error).toMatchObject({ code: 'NACK', message: 'Hl7NackError: NACK AE for control ID CTRL-3 (ERR 204 at PID-3[1])', source: { id: 'n1' } });
    expect(failed.retryable).toBe(false);
    expect(failed.hl7Ack).toEqual({
      code: 'AE',
      controlId: 'CTRL-3',
      ackControlId: 'ACK-CTRL-3',
      errors: [{ code: '204', codeSystem: 'HL70357', severity: 'E', location: 'PID-3[1]' }],
    });
    expect(failed.ackRaw).toContain('MSA|AE|CTRL-3');
    const outbound = await record(failed.hubMessageId);
    expect(outbound).toMatchObject({ status: 'error', attempts: 1, errorCode: 'NACK', errorText: 'NACK AE for control ID CTRL-3 (ERR 204 at PID-3[1])' });
    expect(await ackRecordOf(outbound.id)).toMatchObject({ status: 'error', errorCode: 'NACK', controlId: 'ACK-CTRL-3' });
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: NACK AE' });
    expect(out.pending).toBe(0);
    const { body: _b, ...metadata } = outbound;
    noPhiIn(error, status.all, metadata);
  });

  test('AE is retryable when the endpoint says so; AR never', async () => {
    const { caught } = await load({}, { aeRetryable: true });
    peer.script(
      (m) => ackFor(m, 'AE'),
      (m) => ackFor(m, 'AR'),
    );
    flowNode('n1').receive({ payload: canaryOru('CTRL-4') } as TestMsg);
    expect((await caught.next()).retryable).toBe(true);
    flowNode('n1').receive({ payload: canaryOru('CTRL-5') } as TestMsg);
    const ar = await caught.next();
    expect(ar.retryable).toBe(false);
    expect((ar.hl7Ack as { code: string }).code).toBe('AR');
  });

  test('a late ACK: Catch gets TIMEOUT (retryable) and the late ACK is never taken for the next message', async () => {
    const { out, caught } = await load({ timeout: '300' });
    const late = gate();
    peer.script(async (m) => {
      await late.promise;
      return ackFor(m, 'AA');
    });

    flowNode('n1').receive({ payload: canaryOru('CTRL-6') } as TestMsg);
    const failed = await caught.next();
    expect((failed.error as CaughtError).code).toBe('TIMEOUT');
    expect(failed.retryable).toBe(true);
    expect(await record(failed.hubMessageId)).toMatchObject({ status: 'error', errorCode: 'TIMEOUT', attempts: 1 });

    late.open();
    flowNode('n1').receive({ payload: canaryOru('CTRL-7') } as TestMsg);
    const next = await out.next();
    expect(next.hl7Ack).toMatchObject({ code: 'AA', controlId: 'CTRL-7' });
    expect(parse(next.ackRaw as string).segments[1]?.fields[2]).toBe('CTRL-7');
  });

  test('out-of-order ACKs: an ACK for another control ID is rejected (PROVIDER, retryable) and the connection realigns', async () => {
    const { out, caught, status } = await load();
    peer.script(
      (m) => ackFor(m, 'AA'),
      (m) => ackFor(m, 'AA', { acknowledgedId: 'CTRL-8' }),
    );

    flowNode('n1').receive({ payload: canaryOru('CTRL-8') } as TestMsg);
    await out.next();
    flowNode('n1').receive({ payload: canaryOru('CTRL-9') } as TestMsg);
    const failed = await caught.next();

    expect(failed.error as CaughtError).toMatchObject({
      code: 'PROVIDER',
      message: 'Hl7StaleAckError: ACK for control ID CTRL-8 received while awaiting control ID CTRL-9; connection reset',
    });
    expect(failed.retryable).toBe(true);
    expect(failed.hl7Ack).toBeUndefined();
    const outbound = await record(failed.hubMessageId);
    expect(outbound).toMatchObject({ status: 'error', errorCode: 'PROVIDER', controlId: 'CTRL-9' });
    // The stale ACK is kept, linked to the message it was wrongly paired with.
    expect(await ackRecordOf(outbound.id)).toMatchObject({ status: 'error', errorCode: 'PROVIDER' });
    await status.until((s) => s.text === 'error: PROVIDER');

    // Retrying the caught msg (as a queue would) reuses the record and goes out on a fresh connection.
    delete failed.error;
    flowNode('n1').receive(failed);
    const retried = await out.next();
    expect(retried.hl7Ack).toMatchObject({ code: 'AA', controlId: 'CTRL-9' });
    expect(retried.hubMessageId).toBe(outbound.id);
    expect(await record(outbound.id)).toMatchObject({ status: 'sent', attempts: 2, errorCode: null });
    expect(peer.received[2]?.connectionId).not.toBe(peer.received[1]?.connectionId);
    noPhiIn(status.all);
  });

  test('an unsendable message (no MSH-10): Catch gets PARSE, not retryable; nothing sent or recorded', async () => {
    const { caught } = await load();
    flowNode('n1').receive({ payload: canaryOru('') } as TestMsg);
    const failed = await caught.next();

    expect(failed.error as CaughtError).toMatchObject({ code: 'PARSE', message: 'Hl7OutboundError: outbound message has no control ID (MSH-10)' });
    expect(failed.retryable).toBe(false);
    expect(peer.received).toHaveLength(0);
    expect(await store.count()).toBe(0);
    noPhiIn(failed.error);
  });

  test('text that is not HL7: PARSE without content in the error', async () => {
    const { caught } = await load();
    flowNode('n1').receive({ payload: `PID|1||${CANARY_MRN}||${CANARY_NAME}\r` } as TestMsg);
    const failed = await caught.next();
    expect((failed.error as CaughtError).code).toBe('PARSE');
    noPhiIn(failed.error);
  });

  test('nothing to send: Catch gets PARSE', async () => {
    const { caught } = await load();
    flowNode('n1').receive({ payload: { some: 'object' } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error as CaughtError).toMatchObject({ code: 'PARSE', message: expect.stringContaining('nothing to send') });
  });

  test('with recording off, or outside the hub, the message is still sent', async () => {
    const { out } = await load({ record: false });
    flowNode('n1').receive({ payload: canaryOru('CTRL-10') } as TestMsg);
    expect((await out.next()).hubMessageId).toBeUndefined();
    clearHubServices();
    flowNode('n1').receive({ payload: canaryOru('CTRL-11') } as TestMsg);
    expect((await out.next()).hl7Ack).toMatchObject({ controlId: 'CTRL-11' });
    expect(await store.count()).toBe(0);
  });

  test('ordering per msg property keeps one message per key in flight', async () => {
    const { out } = await load({ ordering: 'msg', orderingProperty: 'orderKey' }, { connections: '2' });
    const holds = new Map<string, ReturnType<typeof gate>>();
    peer.reply = async (m) => {
      const g = gate();
      holds.set(m.controlId, g);
      await g.promise;
      return ackFor(m, 'AA');
    };
    flowNode('n1').receive({ payload: canaryOru('K1'), orderKey: 'p1' } as TestMsg);
    flowNode('n1').receive({ payload: canaryOru('K2'), orderKey: 'p1' } as TestMsg);
    flowNode('n1').receive({ payload: canaryOru('K3'), orderKey: 'p2' } as TestMsg);
    await Promise.all([peer.message(0), peer.message(1)]);
    expect(peer.received.map((m) => m.controlId).sort()).toEqual(['K1', 'K3']);
    holds.get('K1')?.open();
    expect((await peer.message(2)).controlId).toBe('K2');
    holds.get('K2')?.open();
    holds.get('K3')?.open();
    const ids = [(await out.next()).hl7Ack, (await out.next()).hl7Ack, (await out.next()).hl7Ack].map((a) => (a as { controlId: string }).controlId);
    expect(ids.sort()).toEqual(['K1', 'K2', 'K3']);
  });

  test('a failure with no Catch node is logged by code and control ID, without PHI', async () => {
    await helper.load([endpointNode, mllpOutNode], flow({}, {}, false));
    const status = new StatusTap('n1');
    peer.script((m) => ackFor(m, 'AR', { text: CANARY_NAME, errors: [{ code: 101, text: CANARY_MRN }] }));

    flowNode('n1').receive({ payload: canaryOru('CTRL-12'), patientId: CANARY_MRN } as TestMsg);
    await status.until((s) => s.fill === 'red');

    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(errors).toEqual([expect.objectContaining({ id: 'n1', type: 'mllp-out' })]);
    expect(String((errors[0] as { msg: unknown }).msg)).toBe('Hl7NackError: NACK AR for control ID CTRL-12 (ERR 101)');
    noPhiIn(status.all);
  });

  test('without an endpoint the node says so and stays out of the way', async () => {
    await helper.load([endpointNode, mllpOutNode], [
      { id: 'f1', type: 'tab' },
      { id: 'n1', z: 'f1', type: 'mllp-out', endpoint: '', wires: [[]] },
    ]);
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(errors).toEqual([expect.objectContaining({ id: 'n1', msg: 'no MLLP endpoint configured' })]);
  });
});
