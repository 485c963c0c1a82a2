import { X12Parser } from 'node-x12';
import type { X12Interchange, X12Segment as NodeX12Segment } from 'node-x12';
import { X12ParseError } from './errors';
import type { X12Delimiters, X12Document, X12FunctionalGroup, X12Segment, X12TransactionSet } from './types';
import { element } from './types';

/** ISA is 16 elements (X12.5 / TR3 appendix C), ISA16 is a single character followed by the segment terminator. */
const ISA_ELEMENTS = 16;
/** ISA field widths (ISA01..ISA16); the ISA is fixed-length so receivers can find the separators by position. */
export const ISA_WIDTHS: readonly number[] = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1];

/**
 * Read an X12 interchange with node-x12 (non-strict, so the deviations real
 * senders produce are tolerated and reported in `warnings`) into plain data.
 *
 * Two things node-x12 loses are recovered from the text itself: ISA13's
 * leading zeros (it parses the field as a number) and TA1 segments, which
 * belong between ISA and GS (X12.5 §3.6) but which node-x12 drops.
 * @param raw - the interchange; text is decoded as UTF-8
 */
export function readInterchange(raw: string | Buffer): X12Document {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  const { isa, delimiters } = readIsa(text);
  const warnings: string[] = [];

  let parsed: X12Interchange;
  try {
    const result = new X12Parser(false).parse(text);
    // Non-strict parsing merges concatenated ("fat") interchanges into one.
    parsed = Array.isArray(result) ? (result[0] as X12Interchange) : (result as X12Interchange);
    if (!parsed || !parsed.header) throw new Error('no interchange');
  } catch (err) {
    throw new X12ParseError('X12 interchange could not be read', 'MALFORMED', { segment: 'ISA', position: 1 }, { cause: err });
  }

  let position = 1; // ISA
  const groups: X12FunctionalGroup[] = (parsed.functionalGroups ?? []).map((g) => {
    const header = toSegment(g.header, ++position);
    const transactions: X12TransactionSet[] = (g.transactions ?? []).map((t) => {
      const st = toSegment(t.header, 1);
      const segments = (t.segments ?? []).map((s, i) => toSegment(s, i + 2));
      const trailer = t.trailer?.tag ? toSegment(t.trailer, segments.length + 2) : undefined;
      position += segments.length + (trailer ? 2 : 1);
      const set: X12TransactionSet = {
        setId: element(st, 1),
        controlNumber: element(st, 2),
        version: element(st, 3) || element(header, 8),
        header: st,
        segments,
        trailer,
      };
      checkTransaction(set, warnings);
      return set;
    });
    const trailer = g.trailer?.tag ? toSegment(g.trailer, ++position) : undefined;
    const group: X12FunctionalGroup = {
      functionalId: element(header, 1),
      controlNumber: element(header, 6),
      version: element(header, 8),
      senderCode: element(header, 2),
      receiverCode: element(header, 3),
      header,
      transactions,
      trailer,
    };
    checkGroup(group, warnings);
    return group;
  });
  // IEA and TA1 come from the text: node-x12 strips IEA02's zeros and drops TA1.
  const outer = interchangeSegments(text, delimiters);
  const iea = [...outer].reverse().find((s) => s.tag === 'IEA');
  const trailer = iea ? { ...iea, position: ++position } : undefined;
  const interchangeControlNumber = (isa[12] ?? '').trim();
  if (!trailer) warnings.push('IEA missing: interchange truncated');
  else {
    if (Number(element(trailer, 1)) !== groups.length) warnings.push(`IEA01 is ${element(trailer, 1)} but ${groups.length} functional groups were read`);
    if (Number(element(trailer, 2)) !== Number(interchangeControlNumber)) warnings.push('IEA02 does not match ISA13');
  }

  return {
    delimiters,
    isa,
    interchangeControlNumber,
    senderId: (isa[5] ?? '').trim(),
    receiverId: (isa[7] ?? '').trim(),
    usage: isa[14] ?? '',
    groups,
    ta1: outer.filter((s) => s.tag === 'TA1'),
    trailer,
    warnings,
  };
}

/** Split a composite (C0xx) element. See {@link readComposite} for the separator fallback. */
export function splitComposite(value: string, delimiters: X12Delimiters): string[] {
  return readComposite(value, delimiters).parts;
}

/**
 * Split a composite such as SV101 `HC:58970:26`. Some senders use another
 * component separator in the body than the one declared in ISA16 (the TR3
 * 835 examples write `HC>12345>26` under ISA16 `:`), so when the declared
 * separator does not occur and the value starts with a two-letter qualifier
 * followed by `>`, that character is used and `quirk` is set.
 */
export function readComposite(value: string, delimiters: X12Delimiters): { parts: string[]; quirk: boolean } {
  if (value.includes(delimiters.component)) return { parts: value.split(delimiters.component), quirk: false };
  const alt = /^[A-Z0-9]{2}([>:^|\\])/.exec(value)?.[1];
  if (alt && alt !== delimiters.component && alt !== delimiters.element && alt !== delimiters.segment) {
    return { parts: value.split(alt), quirk: true };
  }
  return { parts: [value], quirk: false };
}

function readIsa(text: string): { isa: string[]; delimiters: X12Delimiters } {
  const start = text.indexOf('ISA');
  if (start < 0 || text.slice(0, start).trim().replace(/^\uFEFF/, '') !== '') {
    throw new X12ParseError('input does not start with an ISA segment', 'NO_ISA', { segment: 'ISA', position: 1 });
  }
  const elementSep = text[start + 3];
  if (elementSep === undefined || /[A-Za-z0-9\s]/.test(elementSep)) {
    throw new X12ParseError('ISA element separator is missing or invalid', 'BAD_ISA', { segment: 'ISA', position: 1 });
  }
  const fields: string[] = [];
  let cursor = start + 4;
  for (let i = 0; i < ISA_ELEMENTS - 1; i++) {
    const next = text.indexOf(elementSep, cursor);
    if (next < 0) throw new X12ParseError(`ISA has fewer than ${ISA_ELEMENTS} elements`, 'BAD_ISA', { segment: 'ISA', position: 1, element: `ISA${String(i + 1).padStart(2, '0')}` });
    fields.push(text.slice(cursor, next));
    cursor = next + 1;
  }
  const component = text[cursor];
  const segment = text[cursor + 1];
  if (component === undefined || segment === undefined) {
    throw new X12ParseError('ISA is truncated', 'BAD_ISA', { segment: 'ISA', position: 1, element: 'ISA16' });
  }
  fields.push(component);
  const isa11 = fields[10] ?? '';
  const repetition = isa11 !== 'U' && isa11.length === 1 && !/[A-Za-z0-9 ]/.test(isa11) ? isa11 : undefined;
  return { isa: fields, delimiters: { element: elementSep, segment, component, repetition } };
}

function toSegment(s: NodeX12Segment, position: number): X12Segment {
  // node-x12 keeps surrounding line breaks of "~\n"-style files out of values; trim defensively for CRLF senders.
  return { tag: s.tag.trim(), elements: (s.elements ?? []).map((e) => e.value ?? ''), position };
}

function checkTransaction(set: X12TransactionSet, warnings: string[]): void {
  const id = `ST02 ${set.controlNumber}`;
  if (!set.trailer) {
    warnings.push(`SE missing: transaction set ${id} truncated`);
    return;
  }
  const count = set.segments.length + 2;
  if (Number(element(set.trailer, 1)) !== count) warnings.push(`SE01 is ${element(set.trailer, 1)} but ${count} segments were read in ${id}`);
  if (element(set.trailer, 2) !== set.controlNumber) warnings.push(`SE02 does not match ${id}`);
}

function checkGroup(group: X12FunctionalGroup, warnings: string[]): void {
  const id = `GS06 ${group.controlNumber}`;
  if (!group.trailer) {
    warnings.push(`GE missing: functional group ${id} truncated`);
    return;
  }
  if (Number(element(group.trailer, 1)) !== group.transactions.length) warnings.push(`GE01 is ${element(group.trailer, 1)} but ${group.transactions.length} transaction sets were read in ${id}`);
  if (element(group.trailer, 2) !== group.controlNumber) warnings.push(`GE02 does not match ${id}`);
}

/** Segments outside any functional group, ISA excepted (TA1 lives between ISA and GS; IEA closes). */
function interchangeSegments(text: string, delimiters: X12Delimiters): X12Segment[] {
  const out: X12Segment[] = [];
  let depth = 0;
  let position = 0;
  for (const rawSegment of text.split(delimiters.segment)) {
    const seg = rawSegment.trim();
    if (seg === '') continue;
    position++;
    const elements = seg.split(delimiters.element);
    const id = elements.shift() ?? '';
    if (id === 'GS') depth++;
    else if (id === 'GE') depth = Math.max(0, depth - 1);
    else if (depth === 0 && id !== 'ISA') out.push({ tag: id, elements, position });
  }
  return out;
}
