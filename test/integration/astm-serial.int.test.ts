import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { AstmConnection } from '../../adapters/astm';
import { IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { astmNodes, inbound, instrumentNode, SIM_TIMERS } from '../support/astm-harness';
import { eventually, startTestHub } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, helper, logEvents, MessageTap, StatusTap } from '../support/node-red-helper';
import type { FlowNode } from '../support/node-red-helper';

/**
 * The serial transport over a real tty: socat makes a pseudo-terminal pair,
 * astm-instrument (mode serial) opens one end through serialport, and the
 * "analyzer" (an AstmConnection in the instrument role on a SerialPort)
 * sends an E1381 session on the other end. Also: the device disappears
 * (socat killed) and the hub reopens it once it is back.
 */

helper.init(require.resolve('node-red'));

const INSTRUMENT = 'serial-analyzer';

function requireSocat(): void {
  const found = spawnSync('socat', ['-V'], { stdio: 'ignore' });
  if (found.error || found.status !== 0) throw new Error('socat is needed for the serial transport test (pseudo-terminal pairs): apt-get install socat');
}

/** A pty pair: `hub` and `analyzer` are symlinks to the two ends. */
class PtyPair {
  private child: ChildProcess | undefined;
  constructor(
    readonly hub: string,
    readonly analyzer: string,
  ) {}

  async start(): Promise<void> {
    rmSync(this.hub, { force: true });
    rmSync(this.analyzer, { force: true });
    const child = spawn('socat', [`pty,raw,echo=0,link=${this.hub}`, `pty,raw,echo=0,link=${this.analyzer}`], { stdio: 'ignore' });
    this.child = child;
    let failed: Error | undefined;
    child.once('error', (err) => (failed = err));
    await eventually(() => {
      if (failed) throw new Error(`socat did not start (${failed.message}): apt-get install socat`);
      return existsSync(this.hub) && existsSync(this.analyzer);
    }, 'socat to create the pty pair');
  }

  /** The device disappears: the ptys are torn down under both ends. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    await exited;
  }
}

function openAnalyzerPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port: SerialPort = new SerialPort({ path, baudRate: 9600 }, (err) => (err ? reject(err) : resolve(port)));
  });
}

function closePort(port: SerialPort | undefined): Promise<void> {
  if (!port?.isOpen) return Promise.resolve();
  return new Promise((resolve) => port.close(() => resolve()));
}

function flow(path: string): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'astm serial' },
    instrumentNode('I1', { instrumentId: INSTRUMENT, mode: 'serial', path, baudRate: '9600', dataBits: '8', parity: 'none', stopBits: '1', rtscts: false }),
    { id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [['results'], ['qc'], [], ['errors']] },
    { id: 'results', z: 'f1', type: 'helper' },
    { id: 'qc', z: 'f1', type: 'helper' },
    { id: 'errors', z: 'f1', type: 'helper' },
  ];
}

describe('ASTM over a serial line (socat pty pair → astm-instrument mode serial → astm-in)', () => {
  let hub: TestHub;
  let dir: string;
  let pty: PtyPair;
  let analyzerPort: SerialPort | undefined;
  let analyzer: AstmConnection | undefined;

  beforeAll(() => requireSocat());

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'astm-serial-'));
    pty = new PtyPair(join(dir, 'hub'), join(dir, 'analyzer'));
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    try {
      // A SerialPort does not close on end(): close the device, then the connection sees it gone.
      const closing = analyzer?.close();
      await closePort(analyzerPort);
      await closing;
      await helper.unload();
      await helper.stopServer();
      await hub.close();
    } finally {
      analyzer = undefined;
      analyzerPort = undefined;
      await pty.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  async function connectAnalyzer(): Promise<AstmConnection> {
    analyzerPort = await openAnalyzerPort(pty.analyzer);
    analyzer = new AstmConnection(analyzerPort, () => undefined, { role: 'instrument', ...SIM_TIMERS });
    return analyzer;
  }

  test('an E1381 session on the tty is stored once and delivered once as results', async () => {
    await pty.start();
    await helper.load(astmNodes(), flow(pty.hub), {});
    const status = new StatusTap('in1');
    const results = new MessageTap('results');
    await status.until((s) => s.text === `connected ${pty.hub}`);
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: `connected ${pty.hub}` });

    const sim = await connectAnalyzer();
    // Resolves once the hub has ACKed every frame, i.e. after the raw message was stored.
    const report = await sim.send([IMMULITE_IVF_STREAM]);
    expect(report.messages).toBe(1);

    const msg = await results.next();
    expect(msg).toMatchObject({ topic: INSTRUMENT, instrumentId: INSTRUMENT });
    const stored = await inbound(hub.store, INSTRUMENT);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.body!.toString('utf8')).toBe(IMMULITE_IVF_STREAM);
    expect(msg.hubMessageId).toBe(stored[0]!.id);
    // Nothing more arrives: one message, one delivery.
    await eventually(async () => (await inbound(hub.store, INSTRUMENT)).every((r) => r.status !== 'received'), 'the stored message to be processed');
    expect(results.pending).toBe(0);
  });

  test('the device disappears: status retrying, the port is reopened once it is back, and intake resumes', async () => {
    await pty.start();
    await helper.load(astmNodes(), flow(pty.hub), {});
    const status = new StatusTap('in1');
    const results = new MessageTap('results');
    await status.until((s) => s.text === `connected ${pty.hub}`);

    await pty.stop();
    await status.until((s) => s.text === 'disconnected, retrying');
    expect(status.last).toMatchObject({ fill: 'yellow', shape: 'ring' });

    // A fresh tap: only statuses from here on count.
    const after = new StatusTap('in1');
    await pty.start();
    await after.until((s) => s.text === `connected ${pty.hub}`);
    const sim = await connectAnalyzer();
    await sim.send([IMMULITE_IVF_STREAM]);
    await results.next();
    const stored = await inbound(hub.store, INSTRUMENT);
    expect(stored.map((r) => r.body!.toString('utf8'))).toEqual([IMMULITE_IVF_STREAM]);
  });
});
