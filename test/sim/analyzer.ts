/**
 * Simulated lab analyzer (ASTM E1381/E1394), for trying the hub's ASTM
 * listener by hand and from tests:
 *
 *   node dist/test/sim/analyzer.js --port 5001 --file /work/shared/corpus/astm/roche_cobas_c311_single_oversize_frame.e1381
 *   node dist/test/sim/analyzer.js --port 5001 --file results.astm --faults bad-checksum@2,drop-ack@last
 *   node dist/test/sim/analyzer.js --server --port 5002 --file results.astm   (the hub connects to it)
 *
 * Options: --host H (default 127.0.0.1), --port P, --file F (.astm record
 * stream or .e1381 raw capture), --server, --faults LIST (see faults.ts),
 * --repeat N (play N times), --retries N, --framing record|message,
 * --reply-timeout-ms, --receiver-timeout-ms, --contention-retry-ms,
 * --wait-orders N (stay until the host sent N messages), --quiet.
 * Prints one JSON line per playback; exit status 0 when all were delivered.
 */
import { AnalyzerSimulator } from './analyzer-simulator';
import { parseFaults } from './faults';
import { loadPlayback } from './playback';

interface Args {
  host: string;
  port: number;
  file: string;
  server: boolean;
  faults: string | undefined;
  repeat: number;
  retries: number;
  framing: 'record' | 'message';
  replyTimeoutMs: number | undefined;
  receiverTimeoutMs: number | undefined;
  contentionRetryMs: number | undefined;
  waitOrders: number;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const port = num('port');
  const file = get('file');
  if (port === undefined || !file) throw new Error('usage: analyzer --port P --file F [--host H] [--server] [--faults LIST] [--repeat N]');
  const framing = get('framing') ?? 'record';
  if (framing !== 'record' && framing !== 'message') throw new Error('--framing must be record or message');
  return {
    host: get('host') ?? '127.0.0.1',
    port,
    file,
    server: argv.includes('--server'),
    faults: get('faults'),
    repeat: num('repeat') ?? 1,
    retries: num('retries') ?? 3,
    framing,
    replyTimeoutMs: num('reply-timeout-ms'),
    receiverTimeoutMs: num('receiver-timeout-ms'),
    contentionRetryMs: num('contention-retry-ms'),
    waitOrders: num('wait-orders') ?? 0,
    quiet: argv.includes('--quiet'),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const playback = loadPlayback(args.file);
  const sim = new AnalyzerSimulator({
    mode: args.server ? 'server' : 'client',
    host: args.host,
    port: args.port,
    faults: parseFaults(args.faults),
    retries: args.retries,
    connection: {
      framing: args.framing,
      ...(args.replyTimeoutMs !== undefined ? { replyTimeoutMs: args.replyTimeoutMs, establishTimeoutMs: args.replyTimeoutMs } : {}),
      ...(args.receiverTimeoutMs !== undefined ? { receiverTimeoutMs: args.receiverTimeoutMs } : {}),
      ...(args.contentionRetryMs !== undefined ? { contentionRetryMs: args.contentionRetryMs } : {}),
    },
  });
  await sim.start();
  if (args.server && !args.quiet) process.stdout.write(JSON.stringify({ listening: sim.port }) + '\n');
  let failed = 0;
  for (let i = 0; i < args.repeat; i++) {
    const result = await sim.play(playback);
    if (!result.ok) failed++;
    if (!args.quiet) {
      const { frameBytes, ...rest } = result;
      process.stdout.write(JSON.stringify({ ...rest, frameBytes: frameBytes.length }) + '\n');
    }
  }
  if (args.waitOrders > 0) {
    await sim.waitForReceived(args.waitOrders);
    if (!args.quiet) process.stdout.write(JSON.stringify({ received: sim.received.map((m) => ({ records: m.message.records.length, key: m.key })) }) + '\n');
  }
  await sim.close();
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`analyzer: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
