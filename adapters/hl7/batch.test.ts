import { batchMessages, get, Hl7ParseError, isBatch, parseBatch, segmentGet, serialize, serializeBatch } from './index';

const msg = (id: string, sep = '|'): string =>
  [
    `MSH${sep}^~\\&${sep}IVFLIS${sep}REPROLAB${sep}IVFEMR${sep}REPROCLINIC${sep}20250101${sep}${sep}ORU^R01${sep}${id}${sep}P${sep}2.5.1`,
    `PID${sep}1${sep}${sep}CANARY-MRN-0001${sep}${sep}CANARY^PATIENT`,
    `OBX${sep}1${sep}NM${sep}2243-4^E2^LN${sep}${sep}1850`,
  ].join('\r') + '\r';

const FILE =
  'FHS|^~\\&|IVFLIS|REPROLAB|||20250101120000||||FILE-1\r' +
  'BHS|^~\\&|IVFLIS|REPROLAB|||20250101120000||||BATCH-1\r' +
  msg('M1') +
  msg('M2') +
  'BTS|2\r' +
  'BHS|^~\\&|IVFLIS|REPROLAB|||20250101120000||||BATCH-2\r' +
  msg('M3') +
  'BTS|1\r' +
  'FTS|2\r';

describe('parseBatch', () => {
  it('splits a batch file into messages and keeps headers and trailers', () => {
    const batch = parseBatch(FILE);
    expect(batch.fileHeader?.fields[0]).toBe('FHS');
    expect(batch.fileTrailer?.fields).toEqual(['FTS', '2']);
    expect(batch.batches).toHaveLength(2);
    expect(batch.batches[0]!.header?.fields[10]).toBe('BATCH-1');
    expect(batch.batches[0]!.trailer?.fields).toEqual(['BTS', '2']);
    expect(batchMessages(batch).map((m) => get(m, 'MSH-10'))).toEqual(['M1', 'M2', 'M3']);
    expect(batch.warnings).toEqual([]);
  });

  it('round-trips byte-identical, and each message serializes on its own', () => {
    const batch = parseBatch(FILE);
    expect(serializeBatch(batch)).toBe(FILE);
    expect(serialize(batchMessages(batch)[1]!)).toBe(msg('M2'));
  });

  it('reads header fields with header numbering (FHS-1 is the separator)', () => {
    const batch = parseBatch(FILE);
    expect(segmentGet(batch, batch.fileHeader!, '1')).toBe('|');
    expect(segmentGet(batch, batch.fileHeader!, '11')).toBe('FILE-1');
    expect(segmentGet(batch.batches[1]!, batch.batches[1]!.header!, '11')).toBe('BATCH-2');
  });

  it('keeps a BOM, LF line endings and per-message delimiters', () => {
    const text = '\uFEFF' + ('BHS|^~\\&\r' + msg('A') + msg('B', '#') + 'BTS|2\r').replace(/\r/g, '\n');
    const batch = parseBatch(text);
    expect(batch.bom).toBe(true);
    const [a, b] = batchMessages(batch);
    expect(b!.delimiters.field).toBe('#');
    expect(get(b!, 'PID-5.2')).toBe('PATIENT');
    expect(get(a!, 'MSH-10')).toBe('A');
    expect(serializeBatch(batch)).toBe(text);
  });

  it('splits back-to-back messages without any batch segments', () => {
    const batch = parseBatch(msg('A') + msg('B'));
    expect(batch.fileHeader).toBeUndefined();
    expect(batch.batches).toHaveLength(1);
    expect(batch.batches[0]!.header).toBeUndefined();
    expect(batchMessages(batch)).toHaveLength(2);
    expect(serializeBatch(batch)).toBe(msg('A') + msg('B'));
  });

  it('accepts an empty batch', () => {
    const text = 'FHS|^~\\&\rBHS|^~\\&\rBTS|0\rFTS|1\r';
    const batch = parseBatch(text);
    expect(batchMessages(batch)).toEqual([]);
    expect(batch.warnings).toEqual([]);
    expect(serializeBatch(batch)).toBe(text);
  });

  it('warns about BTS-1 / FTS-1 counts that do not match, and strict mode rejects them', () => {
    const text = FILE.replace('BTS|2', 'BTS|5').replace('FTS|2', 'FTS|9');
    expect(parseBatch(text).warnings).toEqual([
      { reason: 'BATCH_COUNT_MISMATCH', segmentIndex: 8 },
      { reason: 'BATCH_COUNT_MISMATCH', segmentIndex: 14 },
    ]);
    expect(() => parseBatch(text, { strict: true })).toThrow(expect.objectContaining({ reason: 'BATCH_COUNT_MISMATCH' }));
  });

  it.each([
    ['a segment outside any message', 'FHS|^~\\&\rPID|1\r' + msg('A'), 1],
    ['FHS in the middle', msg('A') + 'FHS|^~\\&\r', 3],
    ['a segment after FTS', 'FHS|^~\\&\r' + msg('A') + 'FTS|1\r' + msg('B'), 5],
  ])('rejects %s', (_name, text, index) => {
    try {
      parseBatch(text);
      throw new Error('expected an error');
    } catch (err) {
      expect(err).toBeInstanceOf(Hl7ParseError);
      expect((err as Hl7ParseError).reason).toBe('BAD_BATCH');
      expect((err as Hl7ParseError).segmentIndex).toBe(index);
      expect((err as Error).message).not.toMatch(/CANARY/);
    }
  });

  it('rejects a truncated file, bad header delimiters and bad messages', () => {
    expect(() => parseBatch(FILE.slice(0, -1))).toThrow(expect.objectContaining({ reason: 'TRUNCATED' }));
    expect(() => parseBatch('FHS|^~\rFTS|0\r')).toThrow(expect.objectContaining({ reason: 'BAD_ENCODING_CHARS' }));
    expect(() => parseBatch('BHS|^~\\&\rMSH|^~\rBTS|1\r')).toThrow(expect.objectContaining({ reason: 'BAD_ENCODING_CHARS' }));
    expect(() => parseBatch('')).toThrow(expect.objectContaining({ reason: 'EMPTY' }));
  });

  it('isBatch', () => {
    expect(isBatch(FILE)).toBe(true);
    expect(isBatch('\uFEFFBHS|^~\\&\r')).toBe(true);
    expect(isBatch(msg('A'))).toBe(false);
  });
});
