import { fixtureJson, fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../../test/fixtures/x12';
import type { Logger, LogMeta } from '../shared/logger';
import { Claim837Builder, render837P } from './build-837p';
import type { ProfessionalClaim } from './claim';
import { claimFromFhir } from './claim-from-fhir';
import { claimFromDft } from './claim-from-hl7';
import { InMemoryControlNumberSource } from './control-numbers';
import { X12BuildError } from './errors';
import { read837P } from './read-837p';
import { readInterchange } from './reader';
import { validate837P } from './validate-837p';

const NOW = new Date('2025-03-24T10:15:00Z');
const options = { parties: TEST_PARTIES, billing: TEST_BILLING };

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(X12BuildError);
    expect(x12CanariesIn((err as Error).message)).toEqual([]);
    return (err as X12BuildError).field;
  }
  throw new Error('expected X12BuildError');
}

describe('837P builder', () => {
  const dft = (): ProfessionalClaim => claimFromDft(fixtureText('ivf-cycle.dft-p03.hl7'));

  test('render is deterministic and round-trips', () => {
    const a = render837P([dft()], options, { interchange: 5, group: 6, transactions: [7] }, NOW);
    const b = render837P([dft()], options, { interchange: 5, group: 6, transactions: [7] }, NOW);
    expect(a.x12).toBe(b.x12);
    expect(a.manifest).toEqual({ interchangeControlNumber: '000000005', groupControlNumber: '6', senderId: 'REPROMEDSUBMIT', receiverId: 'KEYINSRECEIVER', transactions: [{ controlNumber: '0007', claimIds: ['ACCT-IVF-0318'] }], createdAt: NOW.toISOString() });
    expect(validate837P(readInterchange(a.x12))).toEqual([]);
    expect(a.x12).toContain('\nHI*ABK:N979*ABF:Z3183~\n');
    expect(a.x12).toContain('\nSV1*HC:58970*3500*UN*1***1:2~\n');
    expect(a.x12).toContain('\nSV1*HC:76948:26*300*UN*1***1~\n');
    expect(a.x12).toContain('\nSV1*HC:58974*1800*UN*1***1:2~\n');
  });

  test('custom separators and no line breaks still validate and read back', () => {
    const built = render837P([dft()], { ...options, delimiters: { element: '|', segment: '\n', component: '>', repetition: '!' }, lineBreaks: false }, { interchange: 1, group: 1, transactions: [1] }, NOW);
    expect(built.x12.slice(0, 4)).toBe('ISA|');
    const doc = readInterchange(built.x12);
    expect(doc.delimiters).toEqual({ element: '|', segment: '\n', component: '>', repetition: '!' });
    expect(validate837P(doc)).toEqual([]);
    expect(read837P(doc).claims[0]!.lines[1]!.modifiers).toEqual(['26']);
  });

  test('the builder logs identifiers and counts only', async () => {
    const lines: string[] = [];
    const at = (level: string) => (message: string, meta?: LogMeta): void => {
      lines.push(JSON.stringify({ level, message, ...meta }));
    };
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const builder = new Claim837Builder(options, { controlNumbers: new InMemoryControlNumberSource(), clock: () => NOW, logger });
    await builder.build([dft(), claimFromFhir(fixtureJson('ivf-transfer.claim.fhir.json'))]);
    expect(lines).toEqual([expect.stringContaining('"controlId":"000000001"')]);
    expect(x12CanariesIn(lines.join('\n'))).toEqual([]);
  });

  test.each<[string, (c: ProfessionalClaim) => void, string]>([
    ['no lines', (c) => (c.lines = []), 'claim.lines'],
    ['bad CPT', (c) => (c.lines[0]!.procedureCode = '5897'), 'claim.lines[0].procedureCode'],
    ['pointer past diagnoses', (c) => (c.lines[0]!.diagnosisPointers = [3]), 'claim.lines[0].diagnosisPointers'],
    ['five pointers', (c) => (c.lines[0]!.diagnosisPointers = [1, 2, 1, 2, 1]), 'claim.lines[0].diagnosisPointers'],
    ['ICD-10 with a typo', (c) => (c.diagnoses[0] = 'N97.9X'), 'claim.diagnoses[0]'],
    ['bad service date', (c) => (c.lines[1]!.serviceDate = '20250231'), 'claim.lines[1].serviceDate'],
    ['fractional cents', (c) => (c.lines[0]!.chargeCents = 1.5), 'claim.lines[0].chargeCents'],
    ['no member ID', (c) => (c.subscriber.memberId = ''), 'claim.subscriber.memberId'],
    ['separator in a name', (c) => (c.subscriber.name.first = 'CANARYGIVEN~NM1'), 'claim.subscriber.name.first'],
    ['bad place of service', (c) => (c.placeOfService = 'OFFICE'), 'claim.placeOfService'],
    ['13 diagnoses', (c) => (c.diagnoses = Array.from({ length: 13 }, () => 'N979')), 'claim.diagnoses'],
  ])('refuses a claim with %s', (_name, mutate, field) => {
    const claim = dft();
    mutate(claim);
    const { checkClaim } = jest.requireActual<typeof import('./build-837p')>('./build-837p');
    expect(fieldOf(() => checkClaim(claim))).toBe(field);
  });

  test('refuses a billing provider NPI with a bad check digit before spending control numbers', async () => {
    const numbers = new InMemoryControlNumberSource();
    const builder = new Claim837Builder({ ...options, billing: { ...TEST_BILLING, billingProvider: { ...TEST_BILLING.billingProvider, npi: '1234567890' } } }, { controlNumbers: numbers });
    await expect(builder.build([dft()])).rejects.toMatchObject({ field: 'billing.billingProvider.npi' });
    expect(await numbers.next('interchange')).toEqual([1]);
  });
});

describe('charge sources', () => {
  test('DFT^P03 without ICD-10 diagnoses, payer or account is refused by field', () => {
    const text = fixtureText('ivf-cycle.dft-p03.hl7');
    const noDg1 = text
      .split('\r')
      .filter((s) => !s.startsWith('DG1'))
      .map((s) => (s.startsWith('FT1') ? s.replace(/\|N97\.9\^[^|]*\|/, '||').replace(/\|N97\.9[^|]*\|/, '||') : s))
      .join('\r');
    expect(fieldOf(() => claimFromDft(noDg1))).toBe('DG1-3');
    const noIn1 = text.split('\r').filter((s) => !s.startsWith('IN1')).join('\r');
    expect(fieldOf(() => claimFromDft(noIn1))).toBe('IN1-3');
    // A configured payer stands in for IN1, but a claim still needs the member ID.
    expect(fieldOf(() => claimFromDft(noIn1, { payer: { name: 'OTHER PAYER', id: 'OTH01' } }))).toBe('IN1-36');
    expect(fieldOf(() => claimFromDft(text.replace('DFT^P03^DFT_P03', 'ADT^A08^ADT_A01')))).toBe('MSH-9');
  });

  test('the corpus-style DFT^P03 with SNOMED diagnoses only has no billable ICD-10', () => {
    const msg = ['MSH|^~\\&|A|B|C|D|20250101||DFT^P03|1|P|2.5.1', 'PID|1||X^^^A^MR||CANARYSURNAME^CANARYGIVEN||19010101|F||||||||||ACCT-1', 'FT1|1|T1||20250101||CG|71045^Xray^C4|||1|100&USD||||||||29857009^Chest pain^SCT', 'IN1|1|P|PAYER1|PAYER|||||||||||CANARYSURNAME|SEL|||||||||||||||||||M1'].join('\r') + '\r';
    expect(fieldOf(() => claimFromDft(msg))).toBe('DG1-3');
  });

  test('FHIR: a Claim without identifier or with a non-CPT item is refused by path', () => {
    const claim = fixtureJson('ivf-transfer.claim.fhir.json') as Record<string, unknown>;
    expect(fieldOf(() => claimFromFhir({ ...claim, identifier: [] }))).toBe('Claim.identifier');
    const items = claim.item as Record<string, unknown>[];
    expect(fieldOf(() => claimFromFhir({ ...claim, item: [{ ...items[0], productOrService: { coding: [{ system: 'http://snomed.info/sct', code: '225292002' }] } }] }))).toBe('Claim.item[0].productOrService');
    expect(fieldOf(() => claimFromFhir({ resourceType: 'Patient' }))).toBe('resourceType');
    expect(fieldOf(() => claimFromFhir({ resourceType: 'Bundle', entry: [] }))).toBe('Bundle.entry');
  });
});
