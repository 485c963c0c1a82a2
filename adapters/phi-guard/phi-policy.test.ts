import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import { PhiPolicyError } from './errors';
import { PhiPolicy } from './phi-policy';

const policy = new PhiPolicy({ canaries: [CANARY_NAME, CANARY_MRN, CANARY_DOB] });
const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, 'CANARYSURNAME', 'CANARYGIVEN', '1901-01-01'];

function refused(request: unknown, structuralPaths: string[] = []): PhiPolicyError {
  try {
    policy.assertAllowed('stripe', request, { structuralPaths });
  } catch (err) {
    expect(err).toBeInstanceOf(PhiPolicyError);
    return err as PhiPolicyError;
  }
  throw new Error('request was allowed');
}

function expectNoCanary(text: string): void {
  for (const c of CANARIES) expect(text.toLowerCase()).not.toContain(c.toLowerCase());
}

describe('PhiPolicy', () => {
  test('allows a neutral request', () => {
    expect(policy.findViolations({ description: 'Clinic services', metadata: { hub_message_id: '0190a5d2-7c1e-7a55-9d7e-3f2b1a0c9e88', reference: 'INV_2026_0042' }, amount: 12500, currency: 'usd' })).toEqual([]);
  });

  test.each([
    ['the full HL7 name', { description: `Balance for ${CANARY_NAME}` }],
    ['a name component', { metadata: { note: 'Dear CanaryGiven' } }],
    ['the MRN', { metadata: { reference: CANARY_MRN } }],
    ['the DOB as written in HL7', { metadata: { ref: CANARY_DOB } }],
    ['the DOB as an ISO date', { text: 'born 1901-01-01' }],
    ['the DOB as a number', { amount: Number(CANARY_DOB) }],
  ])('refuses a canary: %s, naming the path but not the value', (_label, request) => {
    const err = refused(request);
    expect(err.violations.map((v) => v.rule)).toContain('canary');
    expectNoCanary(err.message);
    expect(err.code).toBe('PARSE');
    expect(err.retryable).toBe(false);
  });

  test('the canary rule applies to structural paths too', () => {
    const err = refused({ to: `+1555${CANARY_DOB}` }, ['to']);
    expect(err.path).toBe('to');
    expect(err.violations[0]?.rule).toBe('canary');
  });

  test('a canary used as a key is reported without printing the key', () => {
    const err = refused({ metadata: { [CANARY_MRN]: 'x' } });
    expect(err.path).toBe('metadata.[key]');
    expectNoCanary(err.message);
  });

  test.each([
    ['patientName', { metadata: { patientName: 'A' } }, 'metadata.patientName'],
    ['dob', { personalizations: [{ dynamic_template_data: { dob: 'x' } }] }, 'personalizations[0].dynamic_template_data.dob'],
    ['diagnosis (snake case)', { metadata: { primary_diagnosis: 'x', diagnosis: 'y' } }, 'metadata.diagnosis'],
    ['patient_dob (patient prefix)', { data: { patient_dob: 'x' } }, 'data.patient_dob'],
  ])('refuses the configured field name %s', (_label, request, path) => {
    const err = refused(request);
    expect(err.violations).toContainEqual({ path, rule: 'field-name' });
    expect(err.message).toContain(path);
  });

  test.each([
    ['the word IVF', 'Your IVF appointment is confirmed', 'forbidden-term'],
    ['ivf in lower case', 'about your ivf cycle', 'forbidden-term'],
    ['a phrase across a hyphen', 'in-vitro fertilisation', 'forbidden-term'],
    ['a drug name', 'Take your Ovidrel tonight', 'forbidden-term'],
    ['a CPT code', 'Charge for 58970', 'cpt-code'],
    ['a category III CPT code', 'code 0357T billed', 'cpt-code'],
    ['an HCPCS S-code', 'S4011 global fee', 'hcpcs-code'],
    ['an ICD-10 code with a dot', 'dx N97.9', 'icd-code'],
    ['an ICD-10 code as in X12', 'HI*ABK:N979', 'icd-code'],
    ['a beta-hCG value', 'level 152.4 mIU/mL', 'lab-value'],
  ])('refuses %s in free text', (_label, text, rule) => {
    const err = refused({ description: text });
    expect(err.violations).toContainEqual({ path: 'description', rule });
    expect(err.message).not.toContain(text);
  });

  test('does not fire on provider ids, UUIDs or words that merely contain a term', () => {
    expect(
      policy.findViolations({
        customer: 'cus_N97A1xYz',
        metadata: { hub_message_id: '01936f0e-58a7-7c3d-b1e2-aa5812ce0f13' },
        description: 'Please fetch your receipt; call 617-555-0100 between 9:00 and 17:30',
      }),
    ).toEqual([]);
  });

  test('structural paths skip the field-name and text rules, nothing else', () => {
    const request = { from: { name: 'Riverside IVF Center', email: 'billing@ivf-clinic.example' }, body: 'Hello' };
    expect(policy.findViolations(request, { structuralPaths: ['from.name', 'from.email'] })).toEqual([]);
    expect(refused(request).violations.map((v) => v.path).sort()).toEqual(['from.email', 'from.name', 'from.name']);
  });

  test('globs: * matches one segment, ** the rest', () => {
    const request = { personalizations: [{ to: [{ email: 'ivf-fan@example.com' }] }], asm: { group: { name: 'IVF' } } };
    expect(policy.findViolations(request, { structuralPaths: ['personalizations.*.to.*.email', 'asm.**'] })).toEqual([]);
  });

  test('a policy without canaries still blocks fields and terms', () => {
    const bare = new PhiPolicy();
    expect(bare.findViolations({ body: `${CANARY_NAME}` })).toEqual([]);
    expect(bare.findViolations({ body: 'IVF' })).toEqual([{ path: 'body', rule: 'forbidden-term' }]);
  });

  test('extra lists replace the defaults; custom /g patterns do not carry state', () => {
    const custom = new PhiPolicy({ forbiddenFields: ['favouriteColour'], forbiddenTerms: ['secret plan'], patterns: [{ rule: 'lab-value', pattern: /\bxyz\b/g }] });
    expect(custom.findViolations({ favourite_colour: 'a', patientName: 'b' })).toEqual([{ path: 'favourite_colour', rule: 'field-name' }]);
    for (let i = 0; i < 3; i++) expect(custom.findViolations({ t: 'xyz' })).toEqual([{ path: 't', rule: 'lab-value' }]);
    expect(custom.findViolations({ t: 'the SECRET  plan' })).toEqual([{ path: 't', rule: 'forbidden-term' }]);
  });

  test('survives cycles and lists every violation', () => {
    const a: Record<string, unknown> = { description: 'IVF', metadata: { dob: CANARY_DOB } };
    a.self = a;
    const err = refused(a);
    expect(err.violations.length).toBeGreaterThanOrEqual(3);
  });
});
