/**
 * `npm run bench:astm`: 20 simulated analyzers at once against the
 * adapter-level ASTM server on loopback. Each analyzer sends its results
 * one message per E1381 session (ENQ, frames, EOT), as analyzers do after
 * each sample; the hub's handler normalizes every message through the
 * instrument profile. Run once per framing:
 *
 * - `record`: one frame per record (cobas / Pentra style);
 * - `packed`: the message cut into 247-byte frames (ETB .. ETX).
 *
 * Prints results per second and the protocol overhead per record (bytes on
 * the wire that are not record text, and exchanges that wait for a reply),
 * as a table and one JSON line.
 *
 * BENCH_ANALYZERS (default 20), BENCH_MESSAGES per analyzer (default 200).
 */
import { AstmServer, normalizeMessage, validateProfile } from '../../adapters/astm';
import type { AstmConnection, AstmFraming } from '../../adapters/astm';
import cobasProfile from '../../adapters/astm/fixtures/cobas-e411.profile.json';
import { COBAS_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { AnalyzerSimulator } from './analyzer-simulator';
import { recordsPlayback } from './playback';

const ANALYZERS = Number(process.env.BENCH_ANALYZERS ?? 20);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const profile = validateProfile(cobasProfile);

interface Row {
  framing: string;
  analyzers: number;
  messages: number;
  results: number;
  seconds: number;
  resultsPerSecond: number;
  messagesPerSecond: number;
  framesPerRecord: number;
  overheadBytesPerRecord: number;
  overheadBytesPerFrame: number;
  roundTripsPerRecord: number;
  wireBytesPerPayloadByte: number;
  failures: number;
}

/** A distinct message per analyzer and sequence number, so none is taken for a re-send. */
function message(analyzer: number, seq: number): string {
  return COBAS_IVF_STREAM.replace('S26-004412', `S26-${String(analyzer).padStart(2, '0')}${String(seq).padStart(5, '0')}`).replace('PCU1-0042', `PCU1-${analyzer}-${seq}`);
}

async function runOnce(framing: AstmFraming): Promise<Row> {
  let results = 0;
  let delivered = 0;
  const server = new AstmServer({ port: 0 }, (m) => {
    const n = normalizeMessage(m.message, profile);
    results += n.results.length + n.qc.length;
    delivered++;
  });
  const hubConnections: AstmConnection[] = [];
  server.on('connection', (info) => hubConnections.push(server.connections.get(info.id)!));
  await server.listen();
  const sims = await Promise.all(
    Array.from({ length: ANALYZERS }, async () => {
      const sim = new AnalyzerSimulator({ port: server.port!, connection: framing === 'record' ? { framing: 'record' } : { framing: 'message' } });
      await sim.start();
      return sim;
    }),
  );
  while (hubConnections.length < ANALYZERS) await new Promise((r) => setTimeout(r, 5));
  let records = 0;
  let payloadBytes = 0;
  let frames = 0;
  let roundTrips = 0;
  let simBytes = 0;
  let failures = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    sims.map(async (sim, a) => {
      for (let i = 0; i < MESSAGES; i++) {
        const text = message(a, i);
        const r = await sim.play(recordsPlayback(`a${a}-${i}`, text));
        if (!r.ok || !r.report) {
          failures++;
          continue;
        }
        records += text.split('\r').filter((l) => l !== '').length;
        payloadBytes += Buffer.byteLength(text);
        frames += r.report.frames;
        roundTrips += r.report.roundTrips;
        simBytes += r.report.bytesSent;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const hubBytes = hubConnections.reduce((n, c) => n + c.stats.bytesOut, 0);
  await Promise.all(sims.map((s) => s.close()));
  await server.close();
  const wire = simBytes + hubBytes;
  const overhead = wire - payloadBytes;
  return {
    framing,
    analyzers: ANALYZERS,
    messages: delivered,
    results,
    seconds: round(seconds, 3),
    resultsPerSecond: Math.round(results / seconds),
    messagesPerSecond: Math.round(delivered / seconds),
    framesPerRecord: round(frames / records, 3),
    overheadBytesPerRecord: round(overhead / records, 2),
    overheadBytesPerFrame: round(overhead / frames, 2),
    roundTripsPerRecord: round(roundTrips / records, 3),
    wireBytesPerPayloadByte: round(wire / payloadBytes, 3),
    failures,
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function main(): Promise<void> {
  const rows = [await runOnce('record'), await runOnce('message')];
  const records = COBAS_IVF_STREAM.split('\r').filter((l) => l !== '').length;
  process.stdout.write(
    `ASTM bench: ${ANALYZERS} analyzers x ${MESSAGES} messages (${records} records, ${Buffer.byteLength(COBAS_IVF_STREAM)} bytes, 5 results each), one E1381 session per message, loopback, node ${process.version}\n`,
  );
  const cols: [keyof Row, string, number][] = [
    ['framing', 'framing', 8],
    ['resultsPerSecond', 'results/s', 10],
    ['messagesPerSecond', 'msgs/s', 8],
    ['framesPerRecord', 'frames/rec', 11],
    ['overheadBytesPerRecord', 'ovh B/rec', 10],
    ['overheadBytesPerFrame', 'ovh B/frame', 12],
    ['roundTripsPerRecord', 'RTT/rec', 8],
    ['wireBytesPerPayloadByte', 'wire/payload', 13],
    ['failures', 'failed', 7],
  ];
  process.stdout.write(cols.map(([, h, w], i) => (i === 0 ? h.padEnd(w) : h.padStart(w))).join(' ') + '\n');
  for (const row of rows) process.stdout.write(cols.map(([k, , w], i) => (i === 0 ? String(row[k]).padEnd(w) : String(row[k]).padStart(w))).join(' ') + '\n');
  process.stdout.write(
    'overhead = every byte on the line (both directions: ENQ/ACK/EOT, STX FN ETX/ETB C1 C2 CR LF, replies) minus record text; RTT = exchanges that wait for a reply (ENQ and each frame)\n',
  );
  process.stdout.write(JSON.stringify({ bench: 'astm', analyzers: ANALYZERS, messagesPerAnalyzer: MESSAGES, rows }) + '\n');
  if (rows.some((r) => r.failures > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:astm failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
