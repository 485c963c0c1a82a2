import { DEFAULT_DELIMITERS, delimitersFromHeader } from './delimiters';
import { AstmParseError } from './errors';
import { decodeEscapes, encodeEscapes } from './escape';
import { buildMessage, parseRecordStream } from './message-parser';
import { buildOrderMessage, buildQueryResponse } from './order-message';
import { parseQuery } from './query';
import { fieldRepeats, fieldText, fieldValue } from './record';
import { buildRecord, serializeMessage, serializeRecord } from './serialize';

describe('delimiters (E1394 §6)', () => {
  test('from the H record: default, custom, two-delimiter headers', () => {
    expect(delimitersFromHeader('H|\\^&|||x')).toEqual({ field: '|', repeat: '\\', component: '^', escape: '&' });
    expect(delimitersFromHeader('H|@^\\|URM')).toEqual({ field: '|', repeat: '@', component: '^', escape: '\\' });
    expect(delimitersFromHeader('H|\\^||PASSWORD')).toEqual({ field: '|', repeat: '\\', component: '^' });
  });

  test('bad headers are rejected', () => {
    expect(() => delimitersFromHeader('H|')).toThrow(AstmParseError);
    expect(() => delimitersFromHeader('H|\\\\&|')).toThrow(expect.objectContaining({ reason: 'BAD_DELIMITERS' }));
    expect(() => delimitersFromHeader('H|A^&|')).toThrow(AstmParseError);
    expect(() => buildMessage(['P|1'])).toThrow(expect.objectContaining({ reason: 'MISSING_HEADER' }));
  });
});

describe('escapes (&F& &S& &R& &E&)', () => {
  const d = DEFAULT_DELIMITERS;
  test('decode and encode are inverses', () => {
    expect(decodeEscapes('a&F&b&S&c&R&d&E&e', d)).toBe('a|b^c\\d&e');
    expect(encodeEscapes('a|b^c\\d&e', d)).toBe('a&F&b&S&c&R&d&E&e');
    for (const v of ['plain', 'x&y', '&&', 'a|^\\&', 'line\rbreak', '&X41&']) expect(decodeEscapes(encodeEscapes(v, d), d)).toBe(v);
  });

  test('hex sequences decode; unknown sequences and lone escape characters stay', () => {
    expect(decodeEscapes('A&X4243&D', d)).toBe('ABCD');
    expect(decodeEscapes('x&Zlocal&y', d)).toBe('x&Zlocal&y');
    expect(decodeEscapes('R&D', d)).toBe('R&D');
  });

  test('without an escape delimiter nothing is decoded, and values needing escapes cannot be built', () => {
    const two = { field: '|', repeat: '\\', component: '^' };
    expect(decodeEscapes('a&F&b', two)).toBe('a&F&b');
    expect(() => encodeEscapes('a^b', two)).toThrow(expect.objectContaining({ reason: 'BAD_VALUE' }));
  });

  test('fields decode per component; repeats split first', () => {
    const { messages } = parseRecordStream('H|\\^&\rP|1\rO|1|S1||^^^E2&S&x\\^^^LH\rR|1|^^^E2|<&E&5|pg/mL|1 TO 2&R&3\rL|1\r');
    const m = messages[0]!;
    const o = m.patients[0]!.orders[0]!.record!;
    expect(fieldRepeats(o, 5, m.delimiters)).toEqual([
      ['', '', '', 'E2^x'],
      ['', '', '', 'LH'],
    ]);
    const r = m.patients[0]!.orders[0]!.results[0]!.record;
    expect(fieldValue(r, 4, m.delimiters)).toBe('<&5');
    expect(fieldText(r, 6, m.delimiters)).toBe('1 TO 2\\3');
    expect(fieldValue(r, 99, m.delimiters)).toBeUndefined();
  });
});

describe('hierarchy (E1394 §5)', () => {
  test('H, C, P, O, R, C, M, Q and L land where they belong; records are kept in order', () => {
    const text = ['H|\\^&', 'C|1|L|header note|G', 'P|1', 'C|1|L|patient note|G', 'M|1|X', 'O|1|S1', 'C|1|L|order note|G', 'R|1|^^^A|1', 'C|1|I|result note|I', 'M|1|RR|x', 'R|2|^^^B|2', 'Q|1|^S2||ALL', 'C|1|L|query note|G', 'L|1|N'].join('\r') + '\r';
    const m = parseRecordStream(text).messages[0]!;
    expect(m.comments).toHaveLength(1);
    const p = m.patients[0]!;
    expect([p.comments.length, p.manufacturer.length]).toEqual([1, 1]);
    const o = p.orders[0]!;
    expect(o.comments).toHaveLength(1);
    expect(o.results.map((r) => [r.comments.length, r.manufacturer.length])).toEqual([
      [1, 1],
      [0, 0],
    ]);
    expect(m.queries[0]!.comments).toHaveLength(1);
    expect(m.terminator?.type).toBe('L');
    expect(serializeMessage(m)).toBe(text);
    expect(m.warnings).toEqual([]);
  });

  test('orders without P (QC) get an implicit patient group; R without O is a warning', () => {
    const m = parseRecordStream('H|\\^&\rO|1|QC1\rR|1|^^^A|1\rL|1\r').messages[0]!;
    expect(m.patients[0]!.record).toBeUndefined();
    const w = parseRecordStream('H|\\^&\rP|1\rR|1|^^^A|1\r').messages[0]!;
    expect(w.warnings.map((x) => x.reason)).toEqual(['ORPHAN_RESULT', 'NO_TERMINATOR']);
  });

  test('several messages back to back; a message without L ends at the next H', () => {
    const { messages } = parseRecordStream('H|\\^&\rL|1\rH|\\^&\rP|1\rH|\\^&\rL|1\r');
    expect(messages.map((m) => m.records.length)).toEqual([2, 2, 2]);
    expect(messages[1]!.terminator).toBeUndefined();
  });
});

describe('building records', () => {
  test('buildRecord escapes leaves, joins components and repeats, drops trailing empties', () => {
    const r = buildRecord('O', ['1', 'S|1', ['', 'x^y'], [['', '', '', 'E2'], ['', '', '', 'LH']], '', '']);
    expect(serializeRecord(r, DEFAULT_DELIMITERS)).toBe('O|1|S&F&1|^x&S&y|^^^E2\\^^^LH');
    expect(serializeRecord(buildRecord('H', ['', '', 'host']), DEFAULT_DELIMITERS)).toBe('H|\\^&|||host');
  });
});

describe('host query (E1394 §12)', () => {
  test('IMMULITE query: specimen in component 2, ALL tests, request status O', () => {
    const m = parseRecordStream('H|\\^&||PASSWORD|DPC||Randolph^New^Jersey^07869||(201)927-2828|N81|Your System||P|1|19940407120613\rQ|1|^123ABC||ALL||||||||O\rL|1\r').messages[0]!;
    const q = parseQuery(m.queries[0]!.record, m.delimiters);
    expect(q).toMatchObject({ sequence: '1', specimenIds: ['123ABC'], allTests: true, testIds: [], requestStatus: 'O', cancel: false });
  });

  test('cobas e411 query: specimen in component 3, rack and position echoed in the answer', () => {
    const m = parseRecordStream('H|\\^&|||cobas-e411^1|||||host|TSREQ^REAL|P|1\rQ|1|^^000004^40^0^5^^S1^SC||ALL||||||||O\rL|1|N\r').messages[0]!;
    const q = parseQuery(m.queries[0]!.record, m.delimiters, { specimenIdComponent: 3 });
    expect(q.specimenIds).toEqual(['000004']);
    const answer = buildQueryResponse(q, [], { sender: ['host', '1'], receiver: 'cobas-e411', headerComment: ['TSDWN', 'REPLY'], version: '1', at: new Date(0), answerUnknownSpecimens: true });
    const lines = answer.split('\r');
    expect(lines[0]).toBe('H|\\^&|||host^1|||||cobas-e411|TSDWN^REPLY|P|1|19700101000000');
    expect(lines[1]).toBe('P|1');
    expect(lines[2]).toBe('O|1|000004|40^0^5^^S1^SC||R||||||N||||||||||||||Q');
    expect(lines[3]).toBe('L|1|N');
  });

  test('specific tests, cancel request, and the no-information answer', () => {
    const m = parseRecordStream('H|\\^&\rQ|1|^S1\\^S2||^^^E2\\^^^LH||||||||A\rL|1\r').messages[0]!;
    const q = parseQuery(m.queries[0]!.record, m.delimiters);
    expect(q).toMatchObject({ specimenIds: ['S1', 'S2'], testIds: ['E2', 'LH'], allTests: false, cancel: true });
    expect(buildQueryResponse(q, [], { sender: 'HUB', at: new Date(0) })).toBe('H|\\^&|||HUB|||||||P|LIS2-A2|19700101000000\rL|1|I\r');
  });

  test('order download: patients grouped, one test per O when asked, escaping applied', () => {
    const text = buildOrderMessage(
      [
        { specimenId: 'A1', tests: ['TSH', 'FT4'], patient: { id: 'P1', name: { family: 'O^Brien', given: 'Ann' }, birthDate: '19800101', sex: 'F' } },
        { specimenId: 'A2', tests: ['E2'], patient: { id: 'P1', name: { family: 'O^Brien', given: 'Ann' }, birthDate: '19800101', sex: 'F' } },
        { specimenId: 'B1', tests: ['LH'], priority: 'S' },
      ],
      { sender: 'LIS', at: new Date(0), oneTestPerOrder: true },
    );
    const m = parseRecordStream(text).messages[0]!;
    expect(m.records.map((r) => r.type).join('')).toBe('HPOOOPOL');
    expect(fieldValue(m.patients[0]!.record!, 6, m.delimiters, 1)).toBe('O^Brien');
    expect(m.patients[0]!.orders.map((o) => fieldValue(o.record!, 5, m.delimiters, 4))).toEqual(['TSH', 'FT4', 'E2']);
    expect(fieldValue(m.patients[1]!.orders[0]!.record!, 6, m.delimiters)).toBe('S');
  });
});
