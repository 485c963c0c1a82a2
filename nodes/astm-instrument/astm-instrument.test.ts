import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { astmNodes, instrumentNode, startAnalyzer } from '../../test/support/astm-harness';
import { eventually, startTestHub } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, StatusTap } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import type { AnalyzerSimulator } from '../../test/sim/analyzer-simulator';
import { readSettings } from './settings';
import type { AstmInstrumentDef, AstmInstrumentNode } from './types';

helper.init(require.resolve('node-red'));

/** Node-RED's numeric level for node.error. */
const LOG_ERROR = 20;

function flow(instrument: Record<string, unknown> = {}, withIn = true): FlowNode[] {
  const out: FlowNode[] = [{ id: 'f1', type: 'tab', label: 'instrument test' }, instrumentNode('I1', instrument)];
  if (withIn) out.push({ id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [[], [], [], []] });
  return out;
}

function portRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(false);
    });
    s.on('error', () => resolve(true));
  });
}

describe('astm-instrument config node', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    expect(canariesIn(hub.logger.lines)).toEqual([]);
  });

  const instrument = (): AstmInstrumentNode => flowNode('I1') as AstmInstrumentNode;

  test('listens once an astm-in registers, tracks peers, registers a readiness check, and closes with the flow', async () => {
    await helper.load(astmNodes(), flow({ name: 'lab-immulite' }), {});
    const status = new StatusTap('in1');
    await instrument().whenStarted();
    const port = instrument().boundPort()!;
    expect(hub.health.list().map((c) => c.name)).toEqual(['astm-instrument:lab-immulite']);
    await expect(hub.health.list()[0]!.check()).resolves.toBeUndefined();

    sim = await startAnalyzer({ port });
    await eventually(() => instrument().connectionCount() === 1, 'the analyzer to connect');
    expect(instrument().peers()).toEqual([{ connectionId: expect.any(Number), remoteAddress: '127.0.0.1', remotePort: expect.any(Number), connectedAt: expect.any(Date) }]);
    await status.until((s) => s.text === `listening :${port}, 1 connected`);
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: `listening :${port}, 1 connected` });

    await helper.unload();
    expect(hub.health.list()).toEqual([]);
    expect(await portRefused(port)).toBe(true);
  });

  test('a config node nobody uses does not listen', async () => {
    await helper.load(astmNodes(), flow({}, false), {});
    expect(instrument().boundPort()).toBeUndefined();
    await expect(instrument().whenStarted()).rejects.toThrow(/not started/);
  });

  test.each([
    [{ port: 'abc' }, 'port must be an integer from 0 to 65535'],
    [{ instrumentId: 'has spaces', name: '' }, 'instrument id must be 1-64 letters, digits, dots, dashes or underscores'],
    [{ profile: 'nope' }, 'profile must be one of immulite-2000, cobas-e411, architect-i1000, custom'],
    [{ profile: 'custom' }, 'a custom profile needs the profile JSON'],
    [{ profileJson: '{not json' }, 'profile JSON is not valid JSON'],
    [{ profileJson: JSON.stringify({ tests: { AMH: { loinc: 'AMH', display: 'AMH', unit: 'ng/mL' } } }) }, 'profile: tests.AMH.loinc must be a LOINC code'],
    [{ utcOffset: 'CET' }, 'profile: utcOffset must be Z or ±HH:MM'],
    [{ mode: 'client', host: '', port: '2576' }, 'host (the terminal server) is required in client mode'],
    [{ replyTimeoutMs: '0' }, 'replyTimeoutMs must be an integer from 1 to 600000'],
    [{ mode: 'serial', path: ' ' }, 'path (the serial device) is required in serial mode'],
    [{ mode: 'serial', path: '/dev/ttyS0', baudRate: '300' }, 'baudRate must be an integer from 1200 to 115200'],
    [{ mode: 'modem' }, 'mode must be server, client or serial'],
  ])('invalid settings %j: the error names the field, astm-in shows error: CONFIG', async (settings, message) => {
    await helper.load(astmNodes(), flow(settings), {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: CONFIG' });
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(errors).toEqual([expect.objectContaining({ id: 'I1', msg: `ASTM instrument settings are invalid: ${message}` })]);
    await expect(instrument().whenStarted()).rejects.toThrow(message);
    // Misconfigured and in use: the hub does not report ready.
    expect(hub.health.list()).toHaveLength(1);
    await expect(hub.health.list()[0]!.check()).rejects.toThrow('failed (CONFIG)');
  });

  test('a port in use: error status with the code, a failing readiness check, no crash', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as AddressInfo).port;
    try {
      await helper.load(astmNodes(), flow({ port: String(busy) }), {});
      const status = new StatusTap('in1');
      await expect(instrument().whenStarted()).rejects.toThrow(/cannot listen/);
      await status.until((s) => s.fill === 'red');
      expect(status.last?.text).toBe('error: CONNECT_FAILED');
      expect(hub.health.list().map((c) => c.name)).toEqual(['astm-instrument:test-analyzer']);
      await expect(hub.health.list()[0]!.check()).rejects.toThrow('ASTM instrument astm-instrument:test-analyzer failed (CONNECT_FAILED)');
      await helper.unload();
      expect(hub.health.list()).toEqual([]);
    } finally {
      blocker.close();
    }
  });

  test('without hub services the instrument reports NO_HUB', async () => {
    await hub.close();
    await helper.load(astmNodes(), flow(), {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last?.text).toBe('error: NO_HUB');
    hub = await startTestHub();
  });

  test('address and port may come from the environment (${HUB_BIND}, ${HUB_ASTM_PORT})', async () => {
    process.env.TEST_ASTM_PORT = '0';
    process.env.TEST_ASTM_BIND = '127.0.0.1';
    try {
      await helper.load(astmNodes(), flow({ port: '${TEST_ASTM_PORT}', host: '${TEST_ASTM_BIND}' }), {});
      await instrument().whenStarted();
      expect(instrument().boundPort()).toBeGreaterThan(0);
    } finally {
      delete process.env.TEST_ASTM_PORT;
      delete process.env.TEST_ASTM_BIND;
    }
  });

  test('client mode: connects to the terminal server, shows connected, and retrying once the line drops', async () => {
    sim = await startAnalyzer({ mode: 'server', port: 0 });
    await helper.load(astmNodes(), flow({ mode: 'client', port: String(sim.port) }), {});
    const status = new StatusTap('in1');
    await instrument().whenStarted();
    await status.until((s) => s.text === `connected 127.0.0.1:${sim!.port}`);
    expect(status.all[0]).toMatchObject({ fill: 'yellow', shape: 'ring' });
    expect(instrument().connectionCount()).toBe(1);
    expect(hub.health.list()).toEqual([]);

    await sim.close();
    sim = undefined;
    await status.until((s) => s.text === 'disconnected, retrying');
    expect(status.last).toMatchObject({ fill: 'yellow', shape: 'ring' });
    expect(instrument().connectionCount()).toBe(0);
  });
});

describe('readSettings', () => {
  const def = (fields: Record<string, unknown>): AstmInstrumentDef => instrumentNode('x', fields) as unknown as AstmInstrumentDef;

  test('dialect defaults per built-in profile; the instrument id replaces the profile\'s', () => {
    const cobas = readSettings(def({ instrumentId: 'e411-a', profile: 'cobas-e411' }), { nodeId: 'x' });
    expect(cobas.query).toEqual({ specimenIdComponent: 3 });
    expect(cobas.answers).toEqual({ sender: 'IVF-HUB', answerUnknownSpecimens: true, queryHeaderComment: ['TSDWN', 'REPLY'] });
    expect(cobas.profile.instrumentId).toBe('e411-a');
    const immulite = readSettings(def({ profile: 'immulite-2000', querySpecimenComponent: '4', utcOffset: 'Z', senderId: 'LIS' }), { nodeId: 'x' });
    expect(immulite.query).toEqual({ specimenIdComponent: 4 });
    expect(immulite.answers).toEqual({ sender: 'LIS', oneTestPerOrder: true });
    expect(immulite.profile.utcOffset).toBe('Z');
  });

  test('E1381 timers, framing and encoding go to the transport; blank means the adapter default', () => {
    const s = readSettings(def({ replyTimeoutMs: '15000', receiverTimeoutMs: '', establishTimeoutMs: '', busyRetryMs: '', framing: 'message', encoding: 'latin1', allowedPeers: '10.0.0.1, 10.0.0.2', maxConnections: '2' }), { nodeId: 'x' });
    expect(s.transport).toEqual({
      mode: 'server',
      options: { host: '127.0.0.1', port: 0, replyTimeoutMs: 15000, framing: 'message', encoding: 'latin1', duplicateWindowMs: 600000, allowedPeers: ['10.0.0.1', '10.0.0.2'], maxConnections: 2 },
    });
  });

  test('serial mode: line settings with E1381 defaults (9600 8N1); the TCP port is not read', () => {
    const s = readSettings(def({ mode: 'serial', path: ' /dev/ttyUSB0 ', port: 'unused', replyTimeoutMs: '15000', establishTimeoutMs: '', receiverTimeoutMs: '', busyRetryMs: '', connectTimeoutMs: '2000' }), { nodeId: 'x' });
    expect(s.transport).toEqual({
      mode: 'serial',
      options: { path: '/dev/ttyUSB0', baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rtscts: false, replyTimeoutMs: 15000, duplicateWindowMs: 600000, connectTimeoutMs: 2000 },
    });
    const custom = readSettings(def({ mode: 'serial', path: 'COM3', baudRate: '19200', dataBits: '7', parity: 'even', stopBits: '2', rtscts: true }), { nodeId: 'x' });
    expect(custom.transport.options).toMatchObject({ path: 'COM3', baudRate: 19200, dataBits: 7, parity: 'even', stopBits: 2, rtscts: true });
  });

  test.each([
    [{ path: '' }, 'path (the serial device) is required in serial mode'],
    [{ baudRate: '1199' }, 'baudRate must be an integer from 1200 to 115200'],
    [{ baudRate: '115201' }, 'baudRate must be an integer from 1200 to 115200'],
    [{ dataBits: '6' }, 'dataBits must be an integer from 7 to 8'],
    [{ parity: 'mark' }, 'parity must be none, even or odd'],
    [{ stopBits: '1.5' }, 'stopBits must be an integer from 1 to 2'],
  ])('serial mode rejects %j naming the field', (fields, message) => {
    expect(() => readSettings(def({ mode: 'serial', path: '/dev/ttyS0', ...fields }), { nodeId: 'x' })).toThrow(message);
  });

  test('a custom profile is taken whole and validated', () => {
    const profile = { instrumentId: 'ignored', utcOffset: '+02:00', tests: { AMH: { loinc: '38476-3', display: 'AMH', unit: 'ng/mL' } } };
    const s = readSettings(def({ instrumentId: 'amh-1', profile: 'custom', profileJson: JSON.stringify(profile) }), { nodeId: 'x' });
    expect(s.profile).toEqual({ ...profile, instrumentId: 'amh-1' });
    expect(s.query).toEqual({ specimenIdComponent: 2 });
  });

  test('built-in tables are not changed by an override in another node', () => {
    readSettings(def({ profileJson: JSON.stringify({ tests: { E2: { loinc: '1-1', display: 'x', unit: 'x' } } }) }), { nodeId: 'x' });
    expect(readSettings(def({}), { nodeId: 'y' }).profile.tests.E2!.loinc).toBe('2243-4');
  });
});
