import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrationError } from '../shared/errors';
import { MllpFrameError } from './errors';
import { CARRIAGE_RETURN, END_BLOCK, MAX_FRAME_BYTES, MllpDecoder, START_BLOCK, frame } from './mllp-framer';
import type { MllpDecoderOptions } from './mllp-framer';

const VT = Buffer.from([START_BLOCK]);
const FS = Buffer.from([END_BLOCK]);
const CR = Buffer.from([CARRIAGE_RETURN]);
const CORPUS_DIR = '/work/shared/corpus/hl7v2';

interface Capture {
  decoder: MllpDecoder;
  frames: Buffer[];
  errors: MllpFrameError[];
  maxBuffered: number;
  push(...chunks: Array<Buffer | string>): void;
}

function capture(options?: MllpDecoderOptions): Capture {
  const frames: Buffer[] = [];
  const errors: MllpFrameError[] = [];
  const decoder = new MllpDecoder({ frame: (p) => frames.push(p), frameError: (e) => errors.push(e) }, options);
  const result: Capture = {
    decoder,
    frames,
    errors,
    maxBuffered: 0,
    push(...chunks) {
      for (const chunk of chunks) {
        decoder.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
        result.maxBuffered = Math.max(result.maxBuffered, decoder.bufferedBytes);
      }
    },
  };
  return result;
}

const kinds = (c: Capture): string[] => c.errors.map((e) => `${e.kind}:${e.bytes}`);
const texts = (c: Capture): string[] => c.frames.map((f) => f.toString('latin1'));

/** mulberry32: tiny, seedable, good enough to place cuts and garbage. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function loadCorpus(): Buffer[] {
  if (!existsSync(CORPUS_DIR)) {
    console.warn(`${CORPUS_DIR} is absent: the framing property test runs on synthetic messages only`);
    return syntheticMessages();
  }
  const files = [
    ...readdirSync(CORPUS_DIR).map((f) => join(CORPUS_DIR, f)),
    ...(existsSync(join(CORPUS_DIR, 'malformed')) ? readdirSync(join(CORPUS_DIR, 'malformed')).map((f) => join(CORPUS_DIR, 'malformed', f)) : []),
  ].filter((f) => f.endsWith('.hl7'));
  if (files.length === 0) {
    console.warn(`${CORPUS_DIR} has no .hl7 files: the framing property test runs on synthetic messages only`);
    return syntheticMessages();
  }
  return files.sort().map((f) => readFileSync(f));
}

function syntheticMessages(): Buffer[] {
  return Array.from({ length: 12 }, (_, i) =>
    Buffer.from(
      `MSH|^~\\&|LAB|CLINIC|EMR|CLINIC|20240101120000||ORU^R01|MSG${i}|P|2.5.1\rPID|1||CANARY^^^MRN||CANARY^PATIENT\r` +
        'OBX|1|NM|HCG^Beta hCG||'.repeat(i * 7) +
        '\r',
      'latin1',
    ),
  );
}

/** Random bytes that are not a start block, so they stay garbage. */
function garbage(random: () => number, maxLength: number, avoidLeadingCr: boolean): Buffer {
  const length = 1 + Math.floor(random() * maxLength);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) {
    let byte = Math.floor(random() * 256);
    if (byte === START_BLOCK) byte = 0x41;
    out[i] = byte;
  }
  // After an end block without CR a leading CR would be read as the missing trailer.
  if (avoidLeadingCr && out[0] === CARRIAGE_RETURN) out[0] = 0x20;
  return out;
}

function splitRandomly(stream: Buffer, random: () => number): Buffer[] {
  if (random() < 0.1) return Array.from(stream, (b) => Buffer.from([b]));
  const cuts = new Set<number>();
  const count = Math.floor(random() * 40);
  for (let i = 0; i < count; i += 1) cuts.add(Math.floor(random() * stream.length));
  const sorted = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...sorted, stream.length]) {
    if (cut > from) chunks.push(stream.subarray(from, cut));
    from = cut;
  }
  // Copies: the decoder may keep slices of what it was given.
  return chunks.map((c) => Buffer.from(c));
}

describe('frame()', () => {
  it('wraps a payload in VT ... FS CR', () => {
    expect(frame(Buffer.from('MSH|x'))).toEqual(Buffer.concat([VT, Buffer.from('MSH|x'), FS, CR]));
    expect(frame('')).toEqual(Buffer.from([START_BLOCK, END_BLOCK, CARRIAGE_RETURN]));
  });

  it('encodes strings as UTF-8 unless told otherwise', () => {
    expect(frame('é').subarray(1, -2)).toEqual(Buffer.from([0xc3, 0xa9]));
    expect(frame('é', 'latin1').subarray(1, -2)).toEqual(Buffer.from([0xe9]));
  });

  it.each([
    ['VT', START_BLOCK],
    ['FS', END_BLOCK],
  ])('refuses a payload containing %s instead of letting the peer split it', (_name, byte) => {
    const payload = Buffer.from([0x41, byte, 0x42]);
    let thrown: unknown;
    try {
      frame(payload);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(MllpFrameError);
    expect(thrown).toBeInstanceOf(IntegrationError);
    expect(thrown).toMatchObject({ code: 'PARSE', retryable: false, kind: 'invalid-payload', bytes: 3 });
  });
});

describe('MllpDecoder', () => {
  it('decodes one frame', () => {
    const c = capture();
    c.push(frame('MSH|1'));
    expect(texts(c)).toEqual(['MSH|1']);
    expect(c.errors).toEqual([]);
    expect(c.decoder.stats).toMatchObject({ frames: 1, garbageBytes: 0 });
  });

  it('decodes several frames from one read, in order', () => {
    const c = capture();
    c.push(Buffer.concat([frame('A'), frame('B'), frame(''), frame('C')]));
    expect(texts(c)).toEqual(['A', 'B', '', 'C']);
    expect(c.errors).toEqual([]);
  });

  it('decodes a frame delivered one byte at a time', () => {
    const c = capture();
    const bytes = Buffer.concat([frame('MSH|^~\\&|A\rPID|1'), frame('MSH|2')]);
    for (const b of bytes) c.push(Buffer.from([b]));
    expect(texts(c)).toEqual(['MSH|^~\\&|A\rPID|1', 'MSH|2']);
    expect(c.errors).toEqual([]);
  });

  it('hands out payload copies that do not alias the input', () => {
    const c = capture();
    const input = frame('ABC');
    c.push(input);
    input.fill(0);
    expect(texts(c)).toEqual(['ABC']);
  });

  it('discards and reports garbage before, between and after frames', () => {
    const c = capture();
    c.push('junk', frame('A'), '\n\n', frame('B'), 'tail');
    expect(texts(c)).toEqual(['A', 'B']);
    expect(kinds(c)).toEqual(['garbage:4', 'garbage:2']);
    c.decoder.end();
    expect(kinds(c)).toEqual(['garbage:4', 'garbage:2', 'garbage:4']);
    expect(c.decoder.stats.garbageBytes).toBe(10);
  });

  it('reports a garbage run split over several reads once', () => {
    const c = capture();
    c.push('ab', 'cd', 'e', frame('A'));
    expect(kinds(c)).toEqual(['garbage:5']);
  });

  it('reports an endless garbage stream every maxFrameBytes without buffering it', () => {
    const c = capture({ maxFrameBytes: 100 });
    for (let i = 0; i < 25; i += 1) c.push(Buffer.alloc(10, 0x20));
    expect(kinds(c)).toEqual(['garbage:100', 'garbage:100']);
    expect(c.maxBuffered).toBe(0);
  });

  describe('end block without CR (tolerated)', () => {
    it('delivers the frame immediately, before knowing whether a CR follows', () => {
      const c = capture();
      c.push(Buffer.concat([VT, Buffer.from('A'), FS]));
      expect(texts(c)).toEqual(['A']);
      expect(c.errors).toEqual([]);
    });

    it('swallows a CR that arrives in the next read', () => {
      const c = capture();
      c.push(Buffer.concat([VT, Buffer.from('A'), FS]), CR, frame('B'));
      expect(texts(c)).toEqual(['A', 'B']);
      expect(c.errors).toEqual([]);
    });

    it('reports missing-cr when the next frame starts right after FS', () => {
      const c = capture();
      c.push(Buffer.concat([VT, Buffer.from('A'), FS, VT, Buffer.from('B'), FS, CR]));
      expect(texts(c)).toEqual(['A', 'B']);
      expect(kinds(c)).toEqual(['missing-cr:0']);
      expect(c.decoder.stats.missingCr).toBe(1);
    });

    it('reports missing-cr and then garbage for other bytes after FS', () => {
      const c = capture();
      c.push(Buffer.concat([VT, Buffer.from('A'), FS, Buffer.from('\n'), frame('B')]));
      expect(texts(c)).toEqual(['A', 'B']);
      expect(kinds(c)).toEqual(['missing-cr:0', 'garbage:1']);
    });

    it('reports missing-cr when the stream ends after FS', () => {
      const c = capture();
      c.push(Buffer.concat([VT, Buffer.from('A'), FS]));
      c.decoder.end();
      expect(kinds(c)).toEqual(['missing-cr:0']);
    });
  });

  it('treats a start block inside a frame as an abandoned frame and keeps the next one intact', () => {
    const c = capture();
    c.push(Buffer.concat([VT, Buffer.from('half'), frame('whole')]));
    expect(texts(c)).toEqual(['whole']);
    expect(kinds(c)).toEqual(['truncated:4']);
    expect(c.decoder.stats.truncatedFrames).toBe(1);
  });

  it('reports a frame cut off by the end of the stream', () => {
    const c = capture();
    c.push(Buffer.concat([frame('A'), VT, Buffer.from('partial')]));
    expect(c.decoder.inFrame).toBe(true);
    c.decoder.end();
    expect(c.decoder.inFrame).toBe(false);
    expect(texts(c)).toEqual(['A']);
    expect(kinds(c)).toEqual(['truncated:7']);
  });

  describe('oversize frames', () => {
    it('accepts exactly maxFrameBytes and rejects one byte more', () => {
      const c = capture({ maxFrameBytes: 8 });
      c.push(frame('12345678'), frame('123456789'), frame('ok'));
      expect(texts(c)).toEqual(['12345678', 'ok']);
      expect(kinds(c)).toEqual(['oversize:9']);
      expect(c.decoder.stats.oversizeFrames).toBe(1);
    });

    it('stops buffering at the limit, reports the full size and recovers', () => {
      const c = capture({ maxFrameBytes: 1000 });
      const big = frame(Buffer.alloc(50_000, 0x41));
      for (let i = 0; i < big.length; i += 333) c.push(big.subarray(i, i + 333));
      c.push(frame('next'));
      expect(texts(c)).toEqual(['next']);
      expect(kinds(c)).toEqual(['oversize:50000']);
      expect(c.maxBuffered).toBeLessThanOrEqual(1000);
    });

    it('recovers byte by byte too', () => {
      const c = capture({ maxFrameBytes: 4 });
      for (const b of Buffer.concat([frame('toolong'), frame('ok')])) c.push(Buffer.from([b]));
      expect(texts(c)).toEqual(['ok']);
      expect(kinds(c)).toEqual(['oversize:7']);
      expect(c.maxBuffered).toBeLessThanOrEqual(4);
    });

    it('ends an oversize frame at the next start block when its end block never came', () => {
      const c = capture({ maxFrameBytes: 4 });
      c.push(Buffer.concat([VT, Buffer.from('0123456789'), frame('ok')]));
      expect(texts(c)).toEqual(['ok']);
      expect(kinds(c)).toEqual(['oversize:10']);
    });

    it('defaults to 1 MiB', () => {
      expect(MAX_FRAME_BYTES).toBe(1024 * 1024);
      const c = capture();
      c.push(frame(Buffer.alloc(MAX_FRAME_BYTES, 0x41)), frame(Buffer.alloc(MAX_FRAME_BYTES + 1, 0x41)));
      expect(c.frames.map((f) => f.length)).toEqual([MAX_FRAME_BYTES]);
      expect(kinds(c)).toEqual([`oversize:${MAX_FRAME_BYTES + 1}`]);
    });

    it('rejects a non-positive limit', () => {
      expect(() => new MllpDecoder({ frame: () => undefined }, { maxFrameBytes: 0 })).toThrow(RangeError);
    });
  });

  it('assembles a large frame from many small reads (linear, no re-concatenation per read)', () => {
    // 8 MiB in 1 KiB reads: re-concatenating per read would copy ~32 GiB and
    // blow the test timeout; collecting slices copies it once.
    const size = 8 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 1) payload[i] = 0x20 + (i % 90);
    const c = capture({ maxFrameBytes: size });
    const bytes = frame(payload);
    for (let i = 0; i < bytes.length; i += 1024) c.push(bytes.subarray(i, i + 1024));
    expect(c.frames).toHaveLength(1);
    expect(c.frames[0]?.equals(payload)).toBe(true);
  });

  describe('property: real traffic, random garbage, random splits', () => {
    const messages = loadCorpus();
    const SEEDS = 300;

    it('uses a corpus without MLLP block characters', () => {
      expect(messages.length).toBeGreaterThan(0);
      for (const m of messages) {
        expect(m.includes(START_BLOCK)).toBe(false);
        expect(m.includes(END_BLOCK)).toBe(false);
      }
    });

    it(`delivers exactly the framed payloads, in order, for ${SEEDS} seeds`, () => {
      for (let seed = 1; seed <= SEEDS; seed += 1) {
        const random = prng(seed);
        const expected: Buffer[] = [];
        const parts: Buffer[] = [];
        let garbageBytes = 0;
        let garbageRuns = 0;
        let missingCr = 0;
        let lastWithoutCr = false;
        const count = 1 + Math.floor(random() * messages.length * 2);
        for (let i = 0; i < count; i += 1) {
          if (random() < 0.3) {
            const junk = garbage(random, 64, lastWithoutCr);
            parts.push(junk);
            garbageBytes += junk.length;
            garbageRuns += 1;
          }
          const message = messages[Math.floor(random() * messages.length)] ?? Buffer.alloc(0);
          expected.push(message);
          const framed = frame(message);
          lastWithoutCr = random() < 0.1;
          if (lastWithoutCr) missingCr += 1;
          parts.push(lastWithoutCr ? framed.subarray(0, -1) : framed);
        }
        const c = capture();
        for (const chunk of splitRandomly(Buffer.concat(parts), random)) c.push(chunk);
        c.decoder.end();

        const context = `seed ${seed}`;
        expect({ context, count: c.frames.length }).toEqual({ context, count: expected.length });
        c.frames.forEach((f, i) => {
          if (!f.equals(expected[i] ?? Buffer.alloc(0))) throw new Error(`${context}: frame ${i} differs`);
        });
        expect({ context, ...c.decoder.stats }).toEqual({
          context,
          frames: expected.length,
          garbageBytes,
          oversizeFrames: 0,
          truncatedFrames: 0,
          missingCr,
        });
        const garbageEvents = c.errors.filter((e) => e.kind === 'garbage');
        expect({ context, runs: garbageEvents.length }).toEqual({ context, runs: garbageRuns });
      }
    });

    it(`recovers from oversize frames mixed into the stream for ${SEEDS / 3} seeds`, () => {
      const limit = Math.max(...messages.map((m) => m.length));
      for (let seed = 1; seed <= SEEDS / 3; seed += 1) {
        const random = prng(seed * 7919);
        const expected: Buffer[] = [];
        const parts: Buffer[] = [];
        let oversize = 0;
        for (let i = 0; i < 20; i += 1) {
          if (random() < 0.25) {
            parts.push(frame(Buffer.alloc(limit + 1 + Math.floor(random() * 3 * limit), 0x5a)));
            oversize += 1;
          } else {
            const message = messages[Math.floor(random() * messages.length)] ?? Buffer.alloc(0);
            expected.push(message);
            parts.push(frame(message));
          }
        }
        const c = capture({ maxFrameBytes: limit });
        for (const chunk of splitRandomly(Buffer.concat(parts), random)) c.push(chunk);
        c.decoder.end();
        expect({ seed, frames: c.frames.length, oversize: c.decoder.stats.oversizeFrames }).toEqual({ seed, frames: expected.length, oversize });
        c.frames.forEach((f, i) => {
          if (!f.equals(expected[i] ?? Buffer.alloc(0))) throw new Error(`seed ${seed}: frame ${i} differs`);
        });
        expect(c.maxBuffered).toBeLessThanOrEqual(limit);
      }
    });
  });
});
