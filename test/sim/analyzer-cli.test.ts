import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AstmServer } from '../../adapters/astm';
import type { AstmReceivedMessage } from '../../adapters/astm';
import { COBAS_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { parseFaults } from './faults';

/**
 * The compiled command line (`node dist/test/sim/analyzer.js`), as an
 * operator would run it against a hub listener. Jest's global setup builds
 * dist/ first (`node hub/tools/build.js --if-needed`).
 */
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'test', 'sim', 'analyzer.js');
const run = promisify(execFile);
const CORPUS_FILE = join(process.env.ASTM_CORPUS_DIR ?? '/work/shared/corpus/astm', 'roche_cobas_c311_single_oversize_frame.e1381');

test('fault specs parse', () => {
  expect(parseFaults('bad-checksum@2x6,drop-ack@last,late-eot+1500,contention')).toEqual([
    { kind: 'bad-checksum', frame: 2, times: 6 },
    { kind: 'drop-ack', frame: 'last' },
    { kind: 'late-eot', delayMs: 1500 },
    { kind: 'contention' },
  ]);
  expect(() => parseFaults('bitflip')).toThrow(/unknown fault "bitflip"/);
});

describe('analyzer CLI', () => {
  let server: AstmServer;
  const delivered: AstmReceivedMessage[] = [];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "node hub/tools/build.js" (jest's global setup does) first`);
    server = new AstmServer({ port: 0, duplicateWindowMs: 0 }, (m) => void delivered.push(m));
    await server.listen();
  });

  afterAll(() => server.close());

  test('plays a record stream with injected faults and exits 0 once delivered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'astm-cli-'));
    const file = join(dir, 'cobas.astm');
    writeFileSync(file, COBAS_IVF_STREAM);
    delivered.length = 0;
    const { stdout } = await run(process.execPath, [CLI, '--port', String(server.port), '--file', file, '--faults', 'bad-checksum@2,wrong-frame-number@4', '--reply-timeout-ms', '500']);
    const line = JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; faultsFired: string[]; report: { retransmissions: number } };
    expect(line).toMatchObject({ ok: true, faultsFired: ['bad-checksum@2', 'wrong-frame-number@4'], report: { retransmissions: 2 } });
    expect(delivered.map((m) => m.text)).toEqual([COBAS_IVF_STREAM]);
  });

  test('replays a raw corpus capture', async () => {
    if (!existsSync(CORPUS_FILE)) {
      console.warn(`skipped: ${CORPUS_FILE} missing`);
      return;
    }
    delivered.length = 0;
    const { stdout } = await run(process.execPath, [CLI, '--port', String(server.port), '--file', CORPUS_FILE]);
    expect(JSON.parse(stdout.trim())).toMatchObject({ ok: true, attempts: 1, frameBytes: 624 });
    expect(delivered).toHaveLength(1);
  });

  test('a bad command line exits 2 with a usage message', async () => {
    await expect(run(process.execPath, [CLI, '--file', 'x'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage') });
  });
});
