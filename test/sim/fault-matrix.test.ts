import { AstmServer, buildOrderMessage } from '../../adapters/astm';
import type { AstmConnectionInfo, AstmFrameErrorKind, AstmIncompleteReason, AstmReceivedMessage, AstmServerOptions, AstmSessionInfo } from '../../adapters/astm';
import { COBAS_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { CANARY_MRN } from '../fixtures/canary';
import { AnalyzerSimulator } from './analyzer-simulator';
import type { PlayResult } from './analyzer-simulator';
import type { Fault } from './faults';
import { recordsPlayback } from './playback';

/**
 * The fault matrix: for each fault the simulated analyzer injects, the hub
 * (adapter-level AstmServer on a loopback socket) must NAK or abort as E1381
 * says, the analyzer must retransmit (a frame, or the whole message in a new
 * session), and the message must be delivered to the hub's handler exactly
 * once — or the loss must be reported with its reason. Timers are shortened;
 * nothing here asserts on durations.
 */

// Short enough to keep the suite quick, long enough that a busy machine does not time out a healthy exchange.
const HUB_TIMERS: Partial<AstmServerOptions> = { replyTimeoutMs: 1500, establishTimeoutMs: 1500, receiverTimeoutMs: 1500, contentionWaitMs: 5000, busyRetryMs: 50 };
const SIM_TIMERS = { replyTimeoutMs: 800, establishTimeoutMs: 1500, receiverTimeoutMs: 5000, contentionRetryMs: 50 };
const FRAMES = COBAS_IVF_STREAM.split('\r').filter((l) => l !== '').length; // record framing: one frame per record

interface Outcome {
  deliveries: AstmReceivedMessage[];
  frameErrors: AstmFrameErrorKind[];
  incomplete: AstmIncompleteReason[];
  duplicates: number;
  sessions: AstmSessionInfo[];
  contentions: number;
  oversize: number;
  play: PlayResult;
  sim: AnalyzerSimulator;
}

async function run(faults: Fault[], during?: (server: AstmServer, connection: AstmConnectionInfo) => Promise<void>): Promise<Outcome> {
  const deliveries: AstmReceivedMessage[] = [];
  const server = new AstmServer({ port: 0, ...HUB_TIMERS }, (m) => void deliveries.push(m));
  const o = { deliveries, frameErrors: [] as AstmFrameErrorKind[], incomplete: [] as AstmIncompleteReason[], duplicates: 0, sessions: [] as AstmSessionInfo[], contentions: 0, oversize: 0 };
  server.on('frameError', (e) => o.frameErrors.push(e.kind));
  server.on('incomplete', (e) => o.incomplete.push(e.reason));
  server.on('duplicate', () => o.duplicates++);
  server.on('sessionEnd', (s) => o.sessions.push(s));
  server.on('contention', () => o.contentions++);
  server.on('oversizeFrame', () => o.oversize++);
  const connected = new Promise<AstmConnectionInfo>((resolve) => server.once('connection', resolve));
  await server.listen();
  const sim = new AnalyzerSimulator({ port: server.port!, faults, connection: SIM_TIMERS, retryDelayMs: 50 });
  await sim.start();
  const info = await connected;
  const playing = sim.play(recordsPlayback('cobas-ivf', COBAS_IVF_STREAM));
  if (during) await during(server, info);
  const play = await playing;
  // Give the hub a moment to report what it saw after the last byte.
  for (let i = 0; i < 100 && deliveries.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50));
  await sim.close();
  await server.close();
  return { ...o, play, sim };
}

function deliveredOnce(o: Outcome): void {
  expect(o.play.ok).toBe(true);
  expect(o.deliveries).toHaveLength(1);
  expect(o.deliveries[0]!.text).toBe(COBAS_IVF_STREAM);
}

describe('E1381 fault matrix (simulator → AstmServer over loopback)', () => {
  test('no fault: one session, no retransmission', async () => {
    const o = await run([]);
    deliveredOnce(o);
    expect(o.play).toMatchObject({ attempts: 1, report: { retransmissions: 0 } });
    expect([o.frameErrors, o.incomplete, o.duplicates]).toEqual([[], [], 0]);
  });

  test('bad checksum: the hub NAKs, the analyzer retransmits the frame', async () => {
    const o = await run([{ kind: 'bad-checksum', frame: 2 }]);
    deliveredOnce(o);
    expect(o.frameErrors).toEqual(['checksum']);
    expect(o.play).toMatchObject({ attempts: 1, faultsFired: ['bad-checksum@2'], report: { retransmissions: 1 } });
  });

  test('bad checksum six times: the analyzer gives up (EOT), the hub reports the partial message, the re-send is delivered once', async () => {
    const o = await run([{ kind: 'bad-checksum', frame: 2, times: 6 }]);
    deliveredOnce(o);
    expect(o.frameErrors).toEqual(new Array(6).fill('checksum'));
    expect(o.play.errors).toEqual([{ name: 'AstmRejectedError', code: 'NACK' }]);
    expect(o.play.attempts).toBe(2);
    expect(o.incomplete).toEqual(['no-terminator']);
  });

  test('wrong frame number: the hub NAKs, the analyzer retransmits with the right number', async () => {
    const o = await run([{ kind: 'wrong-frame-number', frame: 3 }]);
    deliveredOnce(o);
    expect(o.frameErrors).toEqual(['frame-number']);
    expect(o.play.report!.retransmissions).toBe(1);
  });

  test('dropped ACK mid-message: the analyzer times out and aborts; the hub reports the partial message; the re-send is delivered once', async () => {
    const o = await run([{ kind: 'drop-ack', frame: 3 }]);
    deliveredOnce(o);
    expect(o.play.errors).toEqual([{ name: 'AstmTimeoutError', code: 'TIMEOUT' }]);
    expect(o.incomplete).toEqual(['no-terminator']);
    expect(o.duplicates).toBe(0);
  });

  test('dropped ACK of the last frame: the hub already has the message; the re-send is recognised as a duplicate, not delivered twice', async () => {
    const o = await run([{ kind: 'drop-ack', frame: 'last' }]);
    deliveredOnce(o);
    expect(o.play.errors).toEqual([{ name: 'AstmTimeoutError', code: 'TIMEOUT' }]);
    expect(o.duplicates).toBe(1);
    expect(o.incomplete).toEqual([]);
  });

  test('late EOT: the hub\'s receiver timer ends the session; the complete message was delivered once, nothing is reported lost', async () => {
    const o = await run([{ kind: 'late-eot', delayMs: 2500 }]); // past the hub's 1.5 s receiver timer
    deliveredOnce(o);
    expect(o.play.faultsFired).toEqual(['late-eot']);
    expect(o.sessions.map((s) => s.reason)).toEqual(['timeout']);
    expect(o.incomplete).toEqual([]);
  });

  test('oversize frame: accepted leniently and reported', async () => {
    const o = await run([{ kind: 'oversize-frame' }]);
    deliveredOnce(o);
    expect(o.play.report!.frames).toBe(1);
    expect(o.oversize).toBe(1);
    expect(o.frameErrors).toEqual([]);
  });

  test('disconnect mid-message: the hub reports the partial message; the analyzer reconnects and the re-send is delivered once', async () => {
    const o = await run([{ kind: 'disconnect', frame: 4 }]);
    deliveredOnce(o);
    expect(o.play.errors).toEqual([{ name: 'AstmClosedError', code: 'CONNECT_FAILED' }]);
    expect(o.incomplete).toEqual(['disconnected']);
  });

  test('contention: both send ENQ; the instrument wins, the host answers it, then sends its own message', async () => {
    const order = buildOrderMessage([{ specimenId: 'S26-004499', tests: ['750', '630'], patient: { id: CANARY_MRN } }], { sender: 'IVF-HUB', at: new Date(0) });
    let orderReport: unknown;
    const o = await run([{ kind: 'contention' }], async (server, connection) => {
      orderReport = await server.send(connection.id, [order]);
    });
    deliveredOnce(o);
    expect(o.play.faultsFired).toEqual(['contention']);
    expect(o.contentions).toBe(1);
    expect(orderReport).toMatchObject({ contentions: 1, messages: 1 });
    expect(o.sim.received).toHaveLength(1);
    expect(o.sim.received[0]!.text).toBe(order);
  });

  test('every fault in one session: still exactly one delivery', async () => {
    const o = await run([
      { kind: 'bad-checksum', frame: 2 },
      { kind: 'wrong-frame-number', frame: 5 },
      { kind: 'drop-ack', frame: 'last' },
    ]);
    deliveredOnce(o);
    expect(o.frameErrors).toEqual(['checksum', 'frame-number']);
    expect(o.duplicates).toBe(1);
  });
});

test('the stream has the frame count the matrix assumes', () => {
  expect(FRAMES).toBe(12);
});
