import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import {
  assertValid837P,
  Claim837Builder,
  claimFromDft,
  claimFromFhir,
  read837P,
  readInterchange,
  SqliteControlNumberSource,
  validate837P,
  X12BuildError,
  X12ValidationError,
} from '../../adapters/x12';
import type { ProfessionalClaim } from '../../adapters/x12';
import { fixtureJson, fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../fixtures/x12';

/**
 * Claims generated from the IVF charge fixtures (DFT^P03, FHIR Claim, FHIR
 * ChargeItems; CPT 58970, 89250, 58974; ICD-10 N97.9; canary patients), with
 * control numbers from a SQLite file, parse back with the same values and
 * pass the structural validation.
 */
function capture(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, text: () => lines.join('\n') };
}

describe('837P from IVF charges, with persisted control numbers', () => {
  let dir: string;
  let dbPath: string;
  let source: SqliteControlNumberSource;
  let logs: ReturnType<typeof capture>;
  const clock = (): Date => new Date('2025-03-24T10:15:00Z');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-x12-'));
    dbPath = join(dir, 'control-numbers.db');
    source = new SqliteControlNumberSource({ path: dbPath, scope: TEST_PARTIES.senderId });
    logs = capture();
  });

  afterEach(async () => {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
    expect(x12CanariesIn(logs.text())).toEqual([]);
  });

  const builder = (): Claim837Builder => new Claim837Builder({ parties: TEST_PARTIES, billing: TEST_BILLING }, { controlNumbers: source, clock, logger: logs.logger });
  const fromDft = (): ProfessionalClaim => claimFromDft(fixtureText('ivf-cycle.dft-p03.hl7'));
  const fromClaim = (): ProfessionalClaim => claimFromFhir(fixtureJson('ivf-transfer.claim.fhir.json'));
  const fromCharges = (): ProfessionalClaim => claimFromFhir(fixtureJson('ivf-retrieval.charges.bundle.json'));

  test('the DFT^P03 charges become a claim with the IVF codes, amounts and canary subscriber', () => {
    const claim = fromDft();
    expect(claim).toMatchObject({
      claimId: 'ACCT-IVF-0318',
      diagnoses: ['N979', 'Z3183'],
      priorAuthorization: 'PA20250301',
      payer: { name: 'KEY INSURANCE COMPANY', id: 'KEYINS01' },
      subscriber: { name: { last: 'CANARYSURNAME', first: 'CANARYGIVEN', middle: 'Q' }, memberId: 'CANARYMEMBER0001', dateOfBirth: '19010101', gender: 'F', groupNumber: 'GRP-IVF-01' },
    });
    expect(claim.patient).toBeUndefined();
    // The PY (payment) FT1 is not billed; FT1-12 × FT1-10 stands in when FT1-11 is empty (58974).
    expect(claim.lines.map((l) => [l.procedureCode, l.modifiers ?? [], l.chargeCents, l.serviceDate, l.diagnosisPointers, l.lineControlNumber])).toEqual([
      ['58970', [], 350000, '20250318', [1, 2], 'CHG-0001'],
      ['76948', ['26'], 30000, '20250318', [1], 'CHG-0002'],
      ['89250', [], 210000, '20250318', [1], 'CHG-0003'],
      ['58974', [], 180000, '20250323', [1, 2], 'CHG-0004'],
    ]);
  });

  test('DFT^P03, FHIR Claim (dependent patient, 2000C) and ChargeItem bundle: one interchange, valid, and every value reads back', async () => {
    const claims = [fromDft(), fromClaim(), fromCharges()];
    const built = await builder().build(claims);

    const doc = readInterchange(built.x12);
    expect(validate837P(doc)).toEqual([]);
    expect(doc.warnings).toEqual([]);
    expect(doc.interchangeControlNumber).toBe('000000001');
    expect(doc.isa[12]).toMatch(/^\d{9}$/);
    expect(doc.groups.map((g) => [g.controlNumber, g.transactions.map((t) => t.controlNumber)])).toEqual([['1', ['0001', '0002', '0003']]]);
    expect(built.x12.startsWith('ISA*00*          *00*          *ZZ*REPROMEDSUBMIT *ZZ*KEYINSRECEIVER *250324*1015*^*00501*000000001*1*T*:~')).toBe(true);
    expect(built.x12.trimEnd().endsWith('GE*3*1~\nIEA*1*000000001~')).toBe(true);
    expect(built.manifest.transactions).toEqual([
      { controlNumber: '0001', claimIds: ['ACCT-IVF-0318'] },
      { controlNumber: '0002', claimIds: ['ACCT-IVF-0323'] },
      { controlNumber: '0003', claimIds: ['ACCT-IVF-0401'] },
    ]);

    const back = read837P(built.x12).claims;
    expect(back).toHaveLength(3);
    back.forEach((read, i) => {
      const { transactionControlNumber, groupControlNumber, totalChargeCents, billingProviderNpi, ...claim } = read;
      expect(claim).toEqual(claims[i]);
      expect(totalChargeCents).toBe(claims[i]!.lines.reduce((s, l) => s + l.chargeCents, 0));
      expect(billingProviderNpi).toBe('1234567893');
      expect(transactionControlNumber).toBe(built.manifest.transactions[i]!.controlNumber);
      expect(groupControlNumber).toBe('1');
    });
    expect(back[0]!.totalChargeCents).toBe(770000);
    expect(back[1]).toMatchObject({ totalChargeCents: 390050, placeOfService: '24', patient: { relationship: '01', name: { last: 'CANARYSURNAME' } }, subscriber: { name: { last: 'CANARYSPOUSE' } } });
    expect(back[2]!.lines.map((l) => l.procedureCode)).toEqual(['58970', '89250']);
  });

  test('control numbers are unique and survive a restart (new source on the same file)', async () => {
    const first = await builder().build([fromDft()]);
    const second = await builder().build([fromDft(), fromCharges()]);
    await source.close();
    source = new SqliteControlNumberSource({ path: dbPath, scope: TEST_PARTIES.senderId });
    const third = await builder().build([fromClaim()]);

    const numbers = [first, second, third].map((b) => [b.manifest.interchangeControlNumber, b.manifest.groupControlNumber, b.manifest.transactions.map((t) => t.controlNumber)]);
    expect(numbers).toEqual([
      ['000000001', '1', ['0001']],
      ['000000002', '2', ['0002', '0003']],
      ['000000003', '3', ['0004']],
    ]);
    expect(new Set([first, second, third].map((b) => b.fileName)).size).toBe(3);
  });

  test('a deliberately broken claim fails validation, naming the segment', async () => {
    const built = await builder().build([fromDft()]);

    // CLM02 no longer equals the sum of the lines.
    const badTotal = built.x12.replace('CLM*ACCT-IVF-0318*7700*', 'CLM*ACCT-IVF-0318*7800*');
    const e1 = (() => {
      try {
        assertValid837P(readInterchange(badTotal));
        return undefined;
      } catch (err) {
        return err;
      }
    })();
    expect(e1).toBeInstanceOf(X12ValidationError);
    expect(e1).toMatchObject({ code: 'PARSE', retryable: false, segment: 'CLM' });
    expect((e1 as Error).message).toMatch(/segment CLM #\d+ loop 2300 element CLM02/);

    // The payer loop (2010BB) is gone: SE01 and the loop are both reported, SE first.
    const noPayer = built.x12.replace(/NM1\*PR\*[^~]*~\n/, '');
    expect(validate837P(readInterchange(noPayer)).map((i) => [i.segment, i.rule])).toEqual([
      ['SE', 'SE01_COUNT'],
      ['HL', 'PAYER_NAME'],
    ]);

    // A service line pointing at a fifth diagnosis that HI does not have.
    const badPointer = built.x12.replace('SV1*HC:89250*2100*UN*1***1~', 'SV1*HC:89250*2100*UN*1***5~');
    expect(validate837P(readInterchange(badPointer))).toEqual([expect.objectContaining({ segment: 'SV1', loop: '2400', element: 'SV107', rule: 'SV107_RANGE' })]);

    // Broken hierarchy: the subscriber HL names a parent that does not exist.
    const badHl = built.x12.replace('HL*2*1*22*0~', 'HL*2*9*22*0~');
    expect(validate837P(readInterchange(badHl))[0]).toMatchObject({ segment: 'HL', element: 'HL02', rule: 'HL_PARENT' });

    // Messages never carry element values.
    const all = [badTotal, noPayer, badPointer, badHl].flatMap((x) => validate837P(readInterchange(x)).map((i) => i.message)).join('\n');
    expect(x12CanariesIn(all)).toEqual([]);
  });

  test('claims X12 cannot carry are refused before a control number is spent; errors name fields, not values', async () => {
    const noDx = { ...fromDft(), diagnoses: [] };
    const err = await builder().build([noDx]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(X12BuildError);
    expect(err).toMatchObject({ code: 'PARSE', retryable: false, field: 'claims[0].diagnoses' });

    const withSeparator = fromDft();
    withSeparator.subscriber.name.last = 'CANARYSURNAME*INJECTED';
    const err2 = await builder().build([withSeparator]).catch((e: unknown) => e);
    expect(err2).toMatchObject({ field: 'claims[0].subscriber.name.last' });
    expect(x12CanariesIn((err2 as Error).message)).toEqual([]);

    expect(await source.next('interchange')).toEqual([1]);
  });
});
