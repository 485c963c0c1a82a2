import { parseTree } from './parse-tree';

const HL7 = [
  'MSH|^~\\&|IVFLIS|REPROLAB|IVFEMR|REPROCLINIC|20261204101500||ORU^R01^ORU_R01|CTL-1|P|2.5.1',
  'PID|1||MRN-1^^^CLINIC^MR~ALT-2^^^OTHER^PI||DOE\\S\\X^JANE||19010101|F',
  'ZXY|1|custom',
].join('\r') + '\r';

const ASTM = ['H|\\^&|||IMMULITE^2000|||||||P|1|20261204101500', 'P|1||PAT-1||DOE^JANE||19010101|F', 'O|1|SPEC1||^^^HCG|R', 'R|1|^^^HCG|152.4|mIU/mL|<5|H||F', 'L|1|N'].join('\r') + '\r';

describe('parseTree', () => {
  test('HL7: segments with descriptions, non-empty fields with names, repetitions and decoded components', () => {
    const t = parseTree(Buffer.from(HL7), 'application/hl7-v2', 'ORU^R01')!;
    expect(t.format).toBe('hl7');
    expect(t.segments.map((s) => s.id)).toEqual(['MSH', 'PID', 'ZXY']);
    const msh = t.segments[0]!;
    expect(msh.description).toBe('Message Header');
    expect(msh.fields.slice(0, 3)).toEqual([
      { ref: 'MSH-1', name: 'Field Separator', raw: '|', reps: [['|']] },
      { ref: 'MSH-2', name: 'Encoding Characters', raw: '^~\\&', reps: [['^~\\&']] },
      { ref: 'MSH-3', name: 'Sending Application', raw: 'IVFLIS', reps: [['IVFLIS']] },
    ]);
    expect(msh.fields.find((f) => f.ref === 'MSH-10')).toMatchObject({ name: 'Message Control ID', raw: 'CTL-1' });
    const pid = t.segments[1]!;
    expect(pid.fields.map((f) => f.ref)).toEqual(['PID-1', 'PID-3', 'PID-5', 'PID-7', 'PID-8']);
    expect(pid.fields[1]).toMatchObject({ name: 'Patient Identifier List', reps: [['MRN-1', '', '', 'CLINIC', 'MR'], ['ALT-2', '', '', 'OTHER', 'PI']] });
    expect(pid.fields[2]!.reps).toEqual([['DOE^X', 'JANE']]);
    expect(t.segments[2]).toMatchObject({ description: null, fields: [{ ref: 'ZXY-1', name: null }, { ref: 'ZXY-2', name: null }] });
  });

  test('ASTM E1394: records with their field names', () => {
    const t = parseTree(Buffer.from(ASTM), 'application/astm', 'ASTM')!;
    expect(t.format).toBe('astm');
    expect(t.segments.map((s) => `${s.id} ${s.description}`)).toEqual(['H Message Header', 'P Patient Information', 'O Test Order', 'R Result', 'L Message Terminator']);
    const r = t.segments[3]!;
    expect(r.fields.find((f) => f.ref === 'R.4')).toMatchObject({ name: 'Data or Measurement Value', reps: [['152.4']] });
    expect(r.fields.find((f) => f.ref === 'R.3')).toMatchObject({ name: 'Universal Test ID', reps: [['', '', '', 'HCG']] });
    expect(t.segments[0]!.fields.find((f) => f.ref === 'H.5')).toMatchObject({ name: 'Sender Name or ID', reps: [['IMMULITE', '2000']] });
  });

  test('anything else is not a tree', () => {
    expect(parseTree(Buffer.from('{"resourceType":"Bundle"}'), 'application/fhir+json', null)).toBeNull();
  });
});
