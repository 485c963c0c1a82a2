import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitCapture } from './capture';
import { FrameDecoder } from './frame-decoder';
import type { AstmMessage } from './message';
import { MessageAssembler } from './message-assembler';
import { parseRecordStream } from './message-parser';
import { fieldRepeats, fieldText, fieldValue } from './record';
import { serializeMessage } from './serialize';
import { decodeText } from './text-encoding';

/**
 * The shared ASTM corpus (corpus SOURCES.md): every `.e1381` capture must
 * pass the checksum rule frame by frame and decode, through the same frame
 * decoder and assembler the connection uses, into the records listed here;
 * every `.astm` record stream must parse into them and serialize back.
 */
const CORPUS_DIR = process.env.ASTM_CORPUS_DIR ?? '/work/shared/corpus/astm';
const present = existsSync(CORPUS_DIR);
if (!present) console.warn(`ASTM corpus tests skipped: ${CORPUS_DIR} does not exist (set ASTM_CORPUS_DIR to point at it)`);
const files = present ? readdirSync(CORPUS_DIR).sort() : [];
const maybe = present ? describe : describe.skip;

/** Record types of each message, in order. New files only get the generic checks. */
const EXPECTED_TYPES: Record<string, string[]> = {
  'abbott_architect_bhcg_lis_manual_example.e1381': ['HPORCRRL'],
  'cepheid_genexpert_custom_delimiters.e1381': ['HPORC' + 'R'.repeat(19) + 'C' + 'R'.repeat(19) + 'C' + 'R'.repeat(45) + 'L'],
  'horiba_pentra_xlr_fn_wraparound.e1381': ['HPORCC' + 'R'.repeat(18) + 'CRRL'],
  'roche_cobas_c111_per_record_etb_frames.e1381': ['HPORCML'],
  'roche_cobas_c311_single_oversize_frame.e1381': ['HPOR' + 'CR'.repeat(6) + 'CL'],
  'siemens_dca_vantage_results.e1381': ['HPORCRCRL'],
  'synthetic_e411_style_record_split_across_frames_AUTHORED.e1381': ['HPORRRL'],
  'abbott_architect_serology_multi_message.astm': ['HPORRRL', 'HPORRRL', 'HPORRRL', 'HPORRL', 'HPORRRL'],
  'biorad_ihcom_ih1000_bloodgroup_repeats_comments.astm': ['HPORCRCRCRCL'],
  'euroimmun_analyzer1_multi_patient_decimal_comma.astm': ['H' + 'POR'.repeat(20) + 'L'],
  'immucor_galileo_echo_order_from_lis.astm': ['HPOCL'],
  'immucor_galileo_echo_result_multi_order.astm': ['HPO' + 'R'.repeat(9) + 'O' + 'R'.repeat(5) + 'L'],
  'lis_host_order_download_to_immulite.astm': ['HPOOOOOOL'],
  'siemens_immulite_dpc_host_query.astm': ['HQL'],
  'siemens_immulite_dpc_results_e2_fsh_lh.astm': ['HPORORPORPORPORORORPORPORL'],
};

const types = (m: AstmMessage): string => m.records.map((r) => r.type).join('');

/** Decode a capture the way AstmConnection does: frames joined up to ETX, then records. */
function decodeCapture(bytes: Buffer): { messages: AstmMessage[]; frames: number; oversize: number } {
  const decoder = new FrameDecoder();
  const assembler = new MessageAssembler();
  const messages: AstmMessage[] = [];
  let pending: Buffer[] = [];
  let frames = 0;
  let oversize = 0;
  for (const token of decoder.push(bytes)) {
    if (token.kind !== 'frame') throw new Error(`unexpected ${token.kind} token`);
    const f = token.frame;
    expect(f.checksumOk).toBe(true);
    frames++;
    if (f.bytes + 2 > 247) oversize++;
    pending.push(f.text);
    if (!f.final) continue;
    const out = assembler.push(decodeText(Buffer.concat(pending), 'auto').text);
    pending = [];
    expect(out.problems).toEqual([]);
    messages.push(...out.complete.map((c) => c.message));
  }
  expect(pending).toEqual([]);
  expect(assembler.pendingRecords).toBe(0);
  return { messages, frames, oversize };
}

maybe('ASTM corpus', () => {
  test('the corpus holds the files this suite knows about', () => {
    expect(files.filter((f) => f.endsWith('.astm') || f.endsWith('.e1381')).sort()).toEqual(Object.keys(EXPECTED_TYPES).sort());
  });

  describe.each(files.filter((f) => f.endsWith('.e1381')))('%s', (file) => {
    const bytes = readFileSync(join(CORPUS_DIR, file));

    test('every frame passes the E1381 checksum rule', () => {
      const frames = splitCapture(bytes);
      expect(frames.length).toBeGreaterThan(0);
      for (const f of frames) expect(`${file}#${f.frameNumber}:${f.checksum}`).toBe(`${file}#${f.frameNumber}:${f.expectedChecksum}`);
      // Replaying the split frames reproduces the file byte for byte.
      expect(Buffer.concat(frames.map((f) => f.bytes)).equals(bytes)).toBe(true);
    });

    test('decodes into the expected records', () => {
      const { messages } = decodeCapture(bytes);
      expect(messages.map(types)).toEqual(EXPECTED_TYPES[file]);
      for (const m of messages) {
        expect(m.warnings).toEqual([]);
        // Records come back unchanged.
        const again = parseRecordStream(serializeMessage(m)).messages;
        expect(again.map(types)).toEqual([types(m)]);
      }
    });

    test('frame decoding does not depend on how the bytes are chunked', () => {
      const decoder = new FrameDecoder();
      const tokens = [];
      for (const byte of bytes) tokens.push(...decoder.push(Buffer.from([byte])));
      expect(tokens.filter((t) => t.kind === 'frame')).toHaveLength(splitCapture(bytes).length);
    });
  });

  describe.each(files.filter((f) => f.endsWith('.astm')))('%s', (file) => {
    const text = readFileSync(join(CORPUS_DIR, file), 'utf8');

    test('parses into the expected messages and serializes back', () => {
      const { messages, orphanRecords } = parseRecordStream(text);
      expect(orphanRecords).toBe(0);
      expect(messages.map(types)).toEqual(EXPECTED_TYPES[file]);
      expect(messages.map(serializeMessage).join('')).toBe(text.replace(/\r?\n/g, '\r'));
    });
  });

  test('cobas c111: frames end in ETB per record, LF-only trailers, and an M record passes through', () => {
    const frames = splitCapture(readFileSync(join(CORPUS_DIR, 'roche_cobas_c111_per_record_etb_frames.e1381')));
    expect(frames.map((f) => f.final)).toEqual([false, false, false, false, false, false, true]);
    expect(new Set(frames.map((f) => f.trailer))).toEqual(new Set(['\n']));
    const [m] = decodeCapture(readFileSync(join(CORPUS_DIR, 'roche_cobas_c111_per_record_etb_frames.e1381'))).messages;
    const result = m!.patients[0]!.orders[0]!.results[0]!;
    expect(result.manufacturer.map((r) => r.type)).toEqual(['M']);
    expect(fieldValue(result.record, 4, m!.delimiters)).toBe('40.13');
  });

  test('cobas c311: one 619-byte frame, repeat-delimited test list, C after each R', () => {
    const { messages, frames, oversize } = decodeCapture(readFileSync(join(CORPUS_DIR, 'roche_cobas_c311_single_oversize_frame.e1381')));
    expect([frames, oversize]).toEqual([1, 1]);
    const m = messages[0]!;
    const order = m.patients[0]!.orders[0]!;
    expect(fieldRepeats(order.record!, 5, m.delimiters).map((r) => r[3])).toEqual(['685/', '687/', '712/', '158/', '735/', '717/', '690/']);
    expect(order.results.map((r) => r.comments.length)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(order.results.map((r) => fieldValue(r.record, 7, m.delimiters))).toEqual(['A', 'N', 'L', 'N', 'N', 'N', 'A']);
  });

  test('Pentra XLR: 28 ETX frames with FN 1..7,0 wrapping', () => {
    const frames = splitCapture(readFileSync(join(CORPUS_DIR, 'horiba_pentra_xlr_fn_wraparound.e1381')));
    expect(frames.map((f) => f.frameNumber).join('')).toBe('1234567012345670123456701234');
    expect(frames.every((f) => f.final)).toBe(true);
  });

  test('GeneXpert: custom delimiters H|@^\\ (repeat @, escape \\) in one 4.3 KB frame', () => {
    const { messages, oversize } = decodeCapture(readFileSync(join(CORPUS_DIR, 'cepheid_genexpert_custom_delimiters.e1381')));
    const m = messages[0]!;
    expect(m.delimiters).toEqual({ field: '|', repeat: '@', component: '^', escape: '\\' });
    expect(oversize).toBe(1);
    const r1 = m.patients[0]!.orders[0]!.results[0]!;
    expect(fieldValue(r1.record, 3, m.delimiters, 2)).toBe('MTB-RIF');
    expect(fieldValue(r1.record, 4, m.delimiters)).toBe('NOT DETECTED');
  });

  test('e411-style synthetic: the ETB falls inside a field; joined before splitting', () => {
    const bytes = readFileSync(join(CORPUS_DIR, 'synthetic_e411_style_record_split_across_frames_AUTHORED.e1381'));
    const frames = splitCapture(bytes);
    expect(frames[0]!.text.toString().endsWith('^^^10')).toBe(true);
    const m = decodeCapture(bytes).messages[0]!;
    const results = m.patients[0]!.orders[0]!.results;
    expect(results.map((r) => [fieldValue(r.record, 3, m.delimiters, 4), fieldValue(r.record, 4, m.delimiters)])).toEqual([
      ['2243-4', '1843.0'],
      ['10501-5', '4.21'],
      ['2839-9', '< 0.05'],
    ]);
  });

  test('ARCHITECT beta-hCG: F/I/P result records and a censored value', () => {
    const m = decodeCapture(readFileSync(join(CORPUS_DIR, 'abbott_architect_bhcg_lis_manual_example.e1381'))).messages[0]!;
    const results = m.patients[0]!.orders[0]!.results;
    expect(results.map((r) => fieldValue(r.record, 3, m.delimiters, 11))).toEqual(['F', 'I', 'P']);
    expect(fieldValue(results[0]!.record, 4, m.delimiters)).toBe('< 1.20');
    expect(fieldText(results[0]!.record, 7, m.delimiters)).toBe('EXP^<');
    expect(results[0]!.comments).toHaveLength(1);
  });

  test('IMMULITE: two-delimiter header, E2/FSH/LH values, host query', () => {
    const { messages } = parseRecordStream(readFileSync(join(CORPUS_DIR, 'siemens_immulite_dpc_results_e2_fsh_lh.astm'), 'utf8'));
    const m = messages[0]!;
    expect(m.delimiters).toEqual({ field: '|', repeat: '\\', component: '^' });
    const p4 = m.patients[3]!;
    expect(p4.orders.map((o) => [fieldValue(o.results[0]!.record, 3, m.delimiters, 4), fieldValue(o.results[0]!.record, 4, m.delimiters)])).toEqual([
      ['E2', '25.3'],
      ['FSH', '60.6'],
      ['LH', '24.4'],
    ]);
    const q = parseRecordStream(readFileSync(join(CORPUS_DIR, 'siemens_immulite_dpc_host_query.astm'), 'utf8')).messages[0]!;
    expect(q.queries).toHaveLength(1);
  });

  test('order download: UTF-8 name survives decoding', () => {
    const { messages } = parseRecordStream(readFileSync(join(CORPUS_DIR, 'lis_host_order_download_to_immulite.astm'), 'utf8'));
    const m = messages[0]!;
    expect(fieldValue(m.patients[0]!.record!, 6, m.delimiters)).toBe('Müller');
    expect(m.patients[0]!.orders).toHaveLength(6);
  });
});
