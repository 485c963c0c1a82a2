import { decodeEscapes, decodeHl7Buffer, fieldName, parse } from '../../adapters/hl7';
import type { Hl7Delimiters } from '../../adapters/hl7';
import { delimitersFromHeader, fieldRepeats, splitRecord } from '../../adapters/astm';
import { astmFieldName, ASTM_RECORD_NAMES } from './astm-field-names';
import type { ParsedTree, TreeField, TreeSegment } from './protocol';

/** Segment descriptions for the tree's headings (v2.5.1 names). */
const SEGMENT_NAMES: Readonly<Record<string, string>> = {
  MSH: 'Message Header', EVN: 'Event Type', PID: 'Patient Identification', PD1: 'Patient Additional Demographic',
  NK1: 'Next of Kin / Associated Parties', PV1: 'Patient Visit', PV2: 'Patient Visit - Additional Information',
  ORC: 'Common Order', OBR: 'Observation Request', OBX: 'Observation/Result', NTE: 'Notes and Comments',
  SPM: 'Specimen', MSA: 'Message Acknowledgment', ERR: 'Error', AL1: 'Patient Allergy Information',
  DG1: 'Diagnosis', IN1: 'Insurance', GT1: 'Guarantor', TQ1: 'Timing/Quantity', FT1: 'Financial Transaction',
  SCH: 'Scheduling Activity Information', AIS: 'Appointment Information - Service', RGS: 'Resource Group',
  MRG: 'Merge Patient Information', QRD: 'Original-Style Query Definition', QPD: 'Query Parameter Definition',
  RCP: 'Response Control Parameter', QAK: 'Query Acknowledgment', FHS: 'File Header', BHS: 'Batch Header',
  BTS: 'Batch Trailer', FTS: 'File Trailer', SFT: 'Software Segment', UAC: 'User Authentication Credential',
};

const MAX_SEGMENTS = 2000;

/**
 * A display tree of a stored body: HL7 v2 segments or ASTM E1394 records,
 * each non-empty field with its number, name and decoded components.
 * Returns null when the body is neither.
 *
 * @param body - the decrypted message body
 * @param contentType - the record's content type, a hint only
 */
export function parseTree(body: Buffer, contentType: string | null, messageType: string | null): ParsedTree | null {
  const head = body.subarray(0, 16).toString('latin1').replace(/^[\uFEFF\u00EF\u00BB\u00BF\s\x02\x0b]+/, '').replace(/^\d/, '');
  if (/^(MSH|FHS|BHS)/.test(head) || /hl7/i.test(contentType ?? '')) return hl7Tree(body);
  if (/^H./.test(head) || /astm/i.test(`${contentType ?? ''} ${messageType ?? ''}`)) return astmTree(body);
  return null;
}

function hl7Tree(body: Buffer): ParsedTree {
  const text = decodeHl7Buffer(body);
  const start = text.search(/(MSH|FHS|BHS)/);
  const message = parse(start > 0 ? text.slice(start) : text, { allowUnterminated: true });
  const d = message.delimiters;
  const segments: TreeSegment[] = [];
  message.segments.slice(0, MAX_SEGMENTS).forEach((seg, i) => {
    const id = seg.fields[0] ?? '';
    const header = id === 'MSH' || id === 'FHS' || id === 'BHS';
    const fields: TreeField[] = [];
    if (header) {
      fields.push({ ref: `${id}-1`, name: fieldName(id, 1) ?? null, raw: d.field, reps: [[d.field]] });
      fields.push({ ref: `${id}-2`, name: fieldName(id, 2) ?? null, raw: seg.fields[1] ?? '', reps: [[seg.fields[1] ?? '']] });
    }
    for (let k = header ? 2 : 1; k < seg.fields.length; k++) {
      const raw = seg.fields[k] ?? '';
      if (raw === '') continue;
      const n = header ? k + 1 : k;
      fields.push({ ref: `${id}-${n}`, name: fieldName(id, n) ?? null, raw, reps: splitHl7(raw, d) });
    }
    segments.push({ id, index: i + 1, description: SEGMENT_NAMES[id] ?? null, fields });
  });
  const warnings = message.warnings.map((w) => `${w.reason} at segment ${w.segmentIndex + 1}`);
  if (message.segments.length > MAX_SEGMENTS) warnings.push(`only the first ${MAX_SEGMENTS} segments are shown`);
  return { format: 'hl7', segments, warnings };
}

function splitHl7(raw: string, d: Hl7Delimiters): string[][] {
  return raw.split(d.repetition).map((rep) =>
    rep.split(d.component).map((c) =>
      c
        .split(d.subcomponent)
        .map((s) => decodeEscapes(s, d))
        .join(d.subcomponent),
    ),
  );
}

function astmTree(body: Buffer): ParsedTree {
  const text = body.toString('utf8');
  // Stored E1394 text: one record a line (CR); strip any leftover frame numbers or control characters.
  const lines = text
    .split(/\r\n|\r|\n/)
    .map((l) => l.replace(/^[\x02\x05\x04]?[0-7]?(?=[A-Z]\|)/, '').replace(/[\x00-\x08\x0b-\x1f]+$/, ''))
    .filter((l) => l.length > 0);
  const header = lines.find((l) => l.startsWith('H'));
  if (!header) throw new Error('no H record');
  const d = delimitersFromHeader(header);
  const segments: TreeSegment[] = lines.slice(0, MAX_SEGMENTS).map((line, i) => {
    const rec = splitRecord(line, d);
    const fields: TreeField[] = [];
    for (let n = 1; n <= rec.fields.length; n++) {
      const raw = rec.fields[n - 1] ?? '';
      if (raw === '') continue;
      fields.push({ ref: `${rec.type}.${n}`, name: astmFieldName(rec.type, n), raw, reps: fieldRepeats(rec, n, d) });
    }
    return { id: rec.type, index: i + 1, description: ASTM_RECORD_NAMES[rec.type] ?? null, fields };
  });
  return { format: 'astm', segments, warnings: lines.length > MAX_SEGMENTS ? [`only the first ${MAX_SEGMENTS} records are shown`] : [] };
}
