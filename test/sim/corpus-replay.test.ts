import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AstmServer, parseRecordStream, splitCapture } from '../../adapters/astm';
import type { AstmFrameError, AstmIncompleteMessageError, AstmReceivedMessage } from '../../adapters/astm';
import { AnalyzerSimulator } from './analyzer-simulator';
import { loadPlayback, messageCount } from './playback';

/**
 * Every corpus file through the simulator and a real loopback socket into
 * the adapter-level ASTM server: record streams framed by the simulator,
 * raw captures replayed byte for byte. Each must arrive as the messages
 * the file holds, with no frame refused (the checksum rule holds on every
 * captured frame) and nothing reported incomplete.
 */
const CORPUS_DIR = process.env.ASTM_CORPUS_DIR ?? '/work/shared/corpus/astm';
const present = existsSync(CORPUS_DIR);
if (!present) console.warn(`ASTM corpus replay skipped: ${CORPUS_DIR} does not exist (set ASTM_CORPUS_DIR to point at it)`);
const files = present ? readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.astm') || f.endsWith('.e1381')).sort() : [];
const maybe = present ? describe : describe.skip;

maybe('corpus through the simulator', () => {
  let server: AstmServer;
  const delivered: AstmReceivedMessage[] = [];
  const frameErrors: AstmFrameError[] = [];
  const incomplete: AstmIncompleteMessageError[] = [];
  const oversize: number[] = [];

  beforeAll(async () => {
    server = new AstmServer({ port: 0, duplicateWindowMs: 0 }, (m) => void delivered.push(m));
    server.on('frameError', (e) => frameErrors.push(e));
    server.on('incomplete', (e) => incomplete.push(e));
    server.on('oversizeFrame', (n) => oversize.push(n));
    await server.listen();
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    delivered.length = 0;
    frameErrors.length = 0;
    incomplete.length = 0;
    oversize.length = 0;
  });

  test.each(files)('%s', async (file) => {
    const path = join(CORPUS_DIR, file);
    const playback = loadPlayback(path);
    const sim = new AnalyzerSimulator({ port: server.port! });
    await sim.start();
    const result = await sim.play(playback);
    expect(result).toMatchObject({ ok: true, attempts: 1, errors: [] });
    const expected = messageCount(playback);
    for (let i = 0; i < 500 && delivered.length < expected; i++) await new Promise((r) => setTimeout(r, 10));
    await sim.close();

    expect(delivered).toHaveLength(expected);
    expect(frameErrors).toEqual([]);
    expect(incomplete).toEqual([]);
    const receivedTypes = delivered.map((m) => m.message.records.map((r) => r.type).join(''));
    if (playback.kind === 'capture') {
      // Byte-exact replay: the frames on the wire are the file.
      expect(result.frameBytes.equals(readFileSync(path))).toBe(true);
      expect(result.report!.retransmissions).toBe(0);
      const text = Buffer.concat(splitCapture(readFileSync(path)).map((f) => f.text)).toString('utf8');
      expect(receivedTypes).toEqual(parseRecordStream(text).messages.map((m) => m.records.map((r) => r.type).join('')));
      if (file.includes('oversize') || file.includes('genexpert') || file.includes('architect')) expect(oversize.length).toBeGreaterThan(0);
    } else {
      const text = readFileSync(path, 'utf8').replace(/\r?\n/g, '\r');
      expect(delivered.map((m) => m.text).join('')).toBe(text);
      // Record framing: no frame above 247 bytes.
      expect(oversize).toEqual([]);
      expect(receivedTypes).toEqual(parseRecordStream(text).messages.map((m) => m.records.map((r) => r.type).join('')));
    }
  });
});
