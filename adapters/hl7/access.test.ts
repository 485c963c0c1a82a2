import {
  addSegment,
  count,
  formatPath,
  get,
  getAll,
  getRaw,
  getSegment,
  Hl7PathError,
  parse,
  parsePath,
  removeSegment,
  segmentGet,
  segmentGetRaw,
  segmentSet,
  serialize,
  set,
  setRaw,
} from './index';

const CANARY_MRN = 'CANARY-MRN-0001';

const TEXT =
  [
    'MSH|^~\\&|IVFLIS|REPROLAB^2.16.840.1.113883.19.5.99^ISO|IVFEMR|REPROCLINIC|20250328114210-0500||ORU^R01^ORU_R01|CTRL-1|P|2.5.1',
    `PID|1||${CANARY_MRN}^^^REPROCLINIC^MR~ALT-7^^^OTHER&1.2.3&ISO^PI||CANARY^PATIENT^^^^^L~ALIAS^PAT||19010101|F`,
    'OBR|1|ORD1|LAB1|21198-7^hCG beta^LN',
    'OBX|1|NM|21198-7^hCG beta^LN||245.6|m[IU]/mL|<5|H|||F',
    'OBX|2|ST|NOTE^Note^L||O\\S\\Brien \\T\\ co \\F\\ \\E\\ \\.br\\next||||||F',
    'NTE|1||""',
  ].join('\r') + '\r';

const fresh = () => parse(TEXT);

describe('get', () => {
  const m = fresh();

  it('reads components, repetitions and sub-components', () => {
    expect(get(m, 'PID-5[1].1')).toBe('CANARY');
    expect(get(m, 'PID-5[1].2')).toBe('PATIENT');
    expect(get(m, 'PID-5[2].1')).toBe('ALIAS');
    expect(get(m, 'PID-3[2].4.2')).toBe('1.2.3');
    expect(get(m, 'MSH-9.2')).toBe('R01');
    expect(get(m, 'MSH-4.2')).toBe('2.16.840.1.113883.19.5.99');
  });

  it('defaults unspecified levels to the first (HAPI Terser convention)', () => {
    expect(get(m, 'PID-5')).toBe('CANARY');
    expect(get(m, 'MSH-9')).toBe('ORU');
    expect(get(m, 'PID-3.4')).toBe('REPROCLINIC');
    expect(get(m, 'PID-3[2].4')).toBe('OTHER');
  });

  it('numbers MSH fields per spec', () => {
    expect(get(m, 'MSH-1')).toBe('|');
    expect(get(m, 'MSH-2')).toBe('^~\\&');
    expect(get(m, 'MSH-3')).toBe('IVFLIS');
    expect(get(m, 'MSH-10')).toBe('CTRL-1');
    expect(get(m, 'MSH-12')).toBe('2.5.1');
    expect(get(m, 'MSH-2.2')).toBeUndefined();
  });

  it('addresses segment occurrences', () => {
    expect(get(m, 'OBX-5')).toBe('245.6');
    expect(get(m, 'OBX[1]-5')).toBe('245.6');
    expect(get(m, 'OBX[2]-3.2')).toBe('Note');
    expect(get(m, 'OBX[3]-5')).toBeUndefined();
  });

  it('decodes escape sequences', () => {
    expect(get(m, 'OBX[2]-5')).toBe('O^Brien & co | \\ \nnext');
  });

  it('distinguishes absent (undefined) from empty', () => {
    expect(get(m, 'ZZZ-1')).toBeUndefined();
    expect(get(m, 'PID-2')).toBe('');
    expect(get(m, 'PID-40')).toBeUndefined();
    expect(get(m, 'PID-5[3]')).toBeUndefined();
    expect(get(m, 'PID-5.9')).toBeUndefined();
    expect(get(m, 'PID-5.1.2')).toBeUndefined();
    expect(get(m, 'NTE-3')).toBe('""');
  });

  it('rejects bad paths', () => {
    for (const p of ['PID', 'pid-5', 'PID-0', 'PID-5[0]', 'PID-5.1.2.3', 'PID5', 'PID-5[1', '']) {
      expect(() => get(m, p)).toThrow(Hl7PathError);
    }
  });
});

describe('getRaw', () => {
  const m = fresh();

  it('returns the element at exactly the depth given, still encoded', () => {
    expect(getRaw(m, 'MSH-9')).toBe('ORU^R01^ORU_R01');
    expect(getRaw(m, 'PID-5')).toBe('CANARY^PATIENT^^^^^L~ALIAS^PAT');
    expect(getRaw(m, 'PID-5[2]')).toBe('ALIAS^PAT');
    expect(getRaw(m, 'PID-3[2].4')).toBe('OTHER&1.2.3&ISO');
    expect(getRaw(m, 'OBX[2]-5')).toBe('O\\S\\Brien \\T\\ co \\F\\ \\E\\ \\.br\\next');
    expect(getRaw(m, 'MSH-2')).toBe('^~\\&');
  });
});

describe('set', () => {
  it('changes only the addressed leaf; everything else stays byte-identical', () => {
    const m = fresh();
    set(m, 'PID-5[1].2', 'ANNE');
    expect(serialize(m)).toBe(TEXT.replace('CANARY^PATIENT^^^^^L', 'CANARY^ANNE^^^^^L'));
  });

  it('escapes delimiters in the value and get() returns it decoded', () => {
    const m = fresh();
    set(m, 'OBX-5', 'a|b^c&d~e\\f');
    expect(getRaw(m, 'OBX-5')).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
    expect(get(m, 'OBX-5')).toBe('a|b^c&d~e\\f');
    expect(get(m, 'OBX[2]-5')).toBe('O^Brien & co | \\ \nnext');
  });

  it('creates missing fields, repetitions, components and sub-components', () => {
    const m = fresh();
    set(m, 'PID-13[2].4', 'x@example.org');
    expect(getRaw(m, 'PID-13')).toBe('~^^^x@example.org');
    set(m, 'OBR-4.3.2', 'sub');
    expect(getRaw(m, 'OBR-4')).toBe('21198-7^hCG beta^LN&sub');
    set(m, 'MSH-18', 'UNICODE UTF-8');
    expect(m.segments[0]!.fields).toHaveLength(18);
    expect(get(m, 'MSH-18')).toBe('UNICODE UTF-8');
  });

  it('creates missing segments after the last one with that ID, else at the end', () => {
    const m = fresh();
    set(m, 'OBX[4]-5', 'late');
    expect(m.segments.map((s) => s.fields[0])).toEqual(['MSH', 'PID', 'OBR', 'OBX', 'OBX', 'OBX', 'OBX', 'NTE']);
    expect(getRaw(m, 'OBX[3]-1')).toBeUndefined();
    expect(get(m, 'OBX[4]-5')).toBe('late');
    set(m, 'ZIV-2', 'cycle 3');
    expect(serialize(m).endsWith('NTE|1||""\rZIV||cycle 3\r')).toBe(true);
  });

  it('gives an appended segment the end-of-message terminator of an unterminated message', () => {
    const m = parse(TEXT.slice(0, -1), { allowUnterminated: true });
    set(m, 'ZIV-1', 'x');
    expect(serialize(m)).toBe(TEXT + 'ZIV|x');
  });

  it('uses the message line ending for new segments', () => {
    const m = parse(TEXT.replace(/\r/g, '\r\n'));
    set(m, 'ZIV-1', 'x');
    expect(serialize(m).endsWith('NTE|1||""\r\nZIV|x\r\n')).toBe(true);
  });

  it('refuses MSH-1, MSH-2 and creating another MSH', () => {
    const m = fresh();
    expect(() => set(m, 'MSH-1', '#')).toThrow(expect.objectContaining({ reason: 'READ_ONLY' }));
    expect(() => set(m, 'MSH-2', '^~\\&#')).toThrow(expect.objectContaining({ reason: 'READ_ONLY' }));
    expect(() => set(m, 'MSH[2]-3', 'x')).toThrow(expect.objectContaining({ reason: 'BAD_PATH' }));
    expect(() => set(m, 'OBX', 'x')).toThrow(expect.objectContaining({ reason: 'BAD_PATH' }));
  });

  it('escapes the truncation character in v2.7 messages', () => {
    const m = parse('MSH|^~\\&#|A||||||ADT^A08|1|P|2.7\rPID|1\r');
    set(m, 'PID-11.1', 'Apt #5');
    expect(getRaw(m, 'PID-11')).toBe('Apt \\P\\5');
    expect(get(m, 'PID-11')).toBe('Apt #5');
  });
});

describe('setRaw', () => {
  it('replaces a whole element with encoded text', () => {
    const m = fresh();
    setRaw(m, 'PID-5', 'DOE^JANE~DOE^J');
    expect(get(m, 'PID-5[2].2')).toBe('J');
    setRaw(m, 'PID-3[2]', 'NEW^^^X');
    expect(getRaw(m, 'PID-3')).toBe(`${CANARY_MRN}^^^REPROCLINIC^MR~NEW^^^X`);
  });

  it('rejects delimiters that would break the structure', () => {
    const m = fresh();
    expect(() => setRaw(m, 'PID-5', 'a|b')).toThrow(expect.objectContaining({ reason: 'BAD_VALUE' }));
    expect(() => setRaw(m, 'PID-5', 'a\rb')).toThrow(expect.objectContaining({ reason: 'BAD_VALUE' }));
    expect(() => setRaw(m, 'PID-5[1]', 'a~b')).toThrow(expect.objectContaining({ reason: 'BAD_VALUE' }));
    expect(() => setRaw(m, 'PID-5.1', 'a^b')).toThrow(expect.objectContaining({ reason: 'BAD_VALUE' }));
    expect(() => setRaw(m, 'PID-5.1.1', 'a&b')).toThrow(expect.objectContaining({ reason: 'BAD_VALUE' }));
    expect(() => setRaw(m, 'PID-5.1', 'a&b')).not.toThrow();
  });

  it('does not put the value in the error text', () => {
    expect(() => setRaw(fresh(), 'PID-5', `${CANARY_MRN}|x`)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('CANARY') }));
  });
});

describe('segments', () => {
  it('getAll / count / getSegment', () => {
    const m = fresh();
    expect(getAll(m, 'OBX')).toHaveLength(2);
    expect(count(m, 'OBX')).toBe(2);
    expect(count(m, 'SPM')).toBe(0);
    expect(getSegment(m, 'OBX[2]')).toBe(getAll(m, 'OBX')[1]);
    expect(getSegment(m, 'SPM')).toBeUndefined();
  });

  it('segmentGet / segmentGetRaw / segmentSet on a held segment', () => {
    const m = fresh();
    const values = getAll(m, 'OBX').map((obx) => segmentGet(m, obx, '5'));
    expect(values).toEqual(['245.6', 'O^Brien & co | \\ \nnext']);
    const obx = getAll(m, 'OBX')[0]!;
    expect(segmentGetRaw(m, obx, '3')).toBe('21198-7^hCG beta^LN');
    segmentSet(m, obx, '8', 'HH');
    expect(get(m, 'OBX-8')).toBe('HH');
    const msh = m.segments[0]!;
    expect(segmentGet(m, msh, '10')).toBe('CTRL-1');
    expect(() => segmentGet(m, obx, 'OBX-5')).toThrow(Hl7PathError);
  });

  it('addSegment / removeSegment', () => {
    const m = fresh();
    const nte = addSegment(m, 'NTE', ['2', 'L', 'a|b']);
    expect(nte.fields).toEqual(['NTE', '2', 'L', 'a\\F\\b']);
    addSegment(m, 'ZIV', ['x'], 1);
    expect(m.segments[1]!.fields[0]).toBe('ZIV');
    expect(removeSegment(m, 'ZIV')).toBe(true);
    expect(removeSegment(m, 'NTE[2]')).toBe(true);
    expect(removeSegment(m, 'SPM')).toBe(false);
    expect(serialize(m)).toBe(TEXT);
    expect(() => removeSegment(m, 'MSH')).toThrow(Hl7PathError);
    expect(() => addSegment(m, 'MSH')).toThrow(Hl7PathError);
  });

  it('removing an unterminated last segment hands its terminator on', () => {
    const m = parse(TEXT.slice(0, -1), { allowUnterminated: true });
    removeSegment(m, 'NTE');
    expect(serialize(m)).toBe(TEXT.slice(0, TEXT.lastIndexOf('NTE') - 1));
  });
});

describe('paths', () => {
  it('parses and formats', () => {
    expect(parsePath('PID-5[1].1')).toEqual({ segment: 'PID', field: 5, repetition: 1, component: 1 });
    expect(parsePath('OBX[2]-5')).toEqual({ segment: 'OBX', segmentRepeat: 2, field: 5 });
    expect(parsePath('PID-3[2].4.1')).toEqual({ segment: 'PID', field: 3, repetition: 2, component: 4, subcomponent: 1 });
    expect(parsePath('ZIV')).toEqual({ segment: 'ZIV' });
    for (const p of ['PID-5[1].1', 'OBX[2]-5', 'MSH-9.2', 'PID-3[2].4.1', 'ZIV']) expect(formatPath(parsePath(p))).toBe(p);
  });

  it('returns frozen cached results', () => {
    expect(parsePath('PID-5')).toBe(parsePath('PID-5'));
    expect(Object.isFrozen(parsePath('PID-5'))).toBe(true);
  });
});
