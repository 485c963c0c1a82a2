import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  correlateAcknowledgment,
  parseX12,
  read835,
  read837P,
  readAcknowledgment,
  readInterchange,
  remittanceEvents,
  validate837P,
} from '../../adapters/x12';
import type { SubmissionManifest } from '../../adapters/x12';
import { fixtureText } from '../fixtures/x12';

/**
 * The shared X12 corpus (public TR3/library samples plus AUTHORED IVF files,
 * see corpus SOURCES.md). Expected numbers below were read from the files.
 */
const CANDIDATES = [process.env.X12_CORPUS_DIR, join(__dirname, '..', '..', '..', 'shared', 'corpus', 'x12'), '/work/shared/corpus/x12'].filter((d): d is string => !!d);
const CORPUS_DIR = CANDIDATES.find((d) => existsSync(d)) ?? CANDIDATES[0]!;
const present = existsSync(CORPUS_DIR);
if (!present) console.warn(`X12 corpus tests skipped: ${CORPUS_DIR} does not exist (set X12_CORPUS_DIR to point at it)`);
const describeCorpus = present ? describe : describe.skip;
const read = (name: string): string => readFileSync(join(CORPUS_DIR, name), 'utf8');
const files = present ? readdirSync(CORPUS_DIR) : [];
const claimFiles = files.filter((f) => /^837p_.*\.x12$/.test(f));

describeCorpus('X12 corpus: 837P', () => {
  test('the corpus has the 837P files this suite expects', () => {
    expect(claimFiles).toEqual(
      expect.arrayContaining([
        '837p_5010_alternate_delimiters_imsweb.x12',
        '837p_5010_ivf_retrieval_cycle_AUTHORED.x12',
        '837p_5010_tr3_cob_example3a.x12',
        '837p_5010_tr3_example1_commercial.x12',
        '837p_5010_two_subscribers_imsweb.x12',
      ]),
    );
  });

  test.each(claimFiles)('%s parses into claims', (file) => {
    const { claims, document } = read837P(read(file));
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) {
      expect(c.claimId).not.toBe('');
      expect(c.lines.length).toBeGreaterThan(0);
    }
    expect(document.groups[0]?.functionalId).toBe('HC');
  });

  test('the AUTHORED IVF retrieval claim reads back with its codes and amounts', () => {
    const [claim, ...rest] = read837P(read('837p_5010_ivf_retrieval_cycle_AUTHORED.x12')).claims;
    expect(rest).toEqual([]);
    expect(claim).toMatchObject({
      claimId: 'IVFRET0318',
      totalChargeCents: 920000,
      placeOfService: '11',
      diagnoses: ['N979', 'Z3183'],
      priorAuthorization: 'PA20250301',
      billingProviderNpi: '1234567893',
      subscriber: { memberId: 'XYZ123456789', groupNumber: 'GRP12345', dateOfBirth: '19880412', gender: 'F' },
      payer: { name: 'KEY INSURANCE COMPANY', id: '999996666' },
      transactionControlNumber: '0001',
      groupControlNumber: '101',
    });
    expect(claim!.lines.map((l) => [l.procedureCode, l.chargeCents, l.diagnosisPointers, l.serviceDate])).toEqual([
      ['58970', 350000, [1, 2], '20250318'],
      ['76948', 30000, [1, 2], '20250318'],
      ['89254', 50000, [1], '20250318'],
      ['89280', 180000, [1], '20250318'],
      ['89250', 210000, [1], '20250318'],
      ['89272', 60000, [1], '20250318'],
      ['89258', 40000, [1], '20250318'],
    ]);
  });

  test('the TR3 example 1 claim has a patient who is not the subscriber (2000C)', () => {
    const [claim] = read837P(read('837p_5010_tr3_example1_commercial.x12')).claims;
    expect(claim).toMatchObject({ claimId: '26463774', totalChargeCents: 10000, patient: { relationship: '19', dateOfBirth: '19730501', gender: 'M' } });
    expect(claim!.lines.map((l) => l.procedureCode)).toEqual(['99213', '87070', '99214', '86663']);
  });

  test('alternate separators (~ element, _ segment, ^ component) read the same claims as the standard ones', () => {
    const alt = read837P(read('837p_5010_alternate_delimiters_imsweb.x12'));
    const std = read837P(read('837p_5010_two_subscribers_imsweb.x12'));
    expect(alt.document.delimiters).toMatchObject({ element: '~', segment: '_', component: '^' });
    expect(alt.claims).toEqual(std.claims);
    expect(alt.claims.map((c) => c.claimId)).toEqual(['A37YH556', 'A37YH667']);
    expect(alt.claims[1]!.lines[0]).toMatchObject({ procedureCode: '478331', modifiers: ['25'], diagnosisPointers: [1, 2, 3] });
  });

  test('structural validation: the IVF and TR3 example 1 claims pass; known upstream defects are named by segment', () => {
    expect(validate837P(readInterchange(read('837p_5010_ivf_retrieval_cycle_AUTHORED.x12')))).toEqual([]);
    expect(validate837P(readInterchange(read('837p_5010_tr3_example1_commercial.x12')))).toEqual([]);
    // imsweb sample: SE01 says 25 for 34 segments, HL01 2 is used twice, CLM02 500 for a 12.25 line.
    const ims = validate837P(readInterchange(read('837p_5010_two_subscribers_imsweb.x12')));
    expect(ims[0]).toMatchObject({ segment: 'SE', element: 'SE01', rule: 'SE01_COUNT' });
    expect(ims.map((i) => i.rule)).toEqual(expect.arrayContaining(['HL01_SEQUENCE', 'CLM02_TOTAL']));
    // TR3 COB example 3A: its illustrative NPIs fail the check digit.
    const cob = validate837P(readInterchange(read('837p_5010_tr3_cob_example3a.x12')));
    expect(cob.map((i) => [i.segment, i.rule])).toEqual([
      ['NM1', 'NPI_CHECK_DIGIT'],
      ['NM1', 'NPI_CHECK_DIGIT'],
      ['NM1', 'NPI_CHECK_DIGIT'],
    ]);
  });
});

describeCorpus('X12 corpus: 835 remittances', () => {
  test('managed care, two claims: payments, patient responsibility and CAS per claim and line', () => {
    const { remittances } = read835(read('835_5010_managed_care_two_claims.x12'));
    expect(remittances).toHaveLength(1);
    const r = remittances[0]!;
    expect(r).toMatchObject({ transactionControlNumber: '112233', totalPaidCents: 94500, paymentMethod: 'ACH', creditDebit: 'C', traceNumber: '7170066655', payerTraceId: '1935665544', payer: { name: 'RUSHMORE LIFE' }, balanced: true });
    expect(r.claims.map((c) => [c.claimId, c.statusCode, c.chargeCents, c.paidCents, c.patientResponsibilityCents, c.payerClaimControlNumber, c.balanced])).toEqual([
      ['5554555444', '1', 80000, 45000, 30000, '94060555410000', true],
      ['8765432112', '1', 120000, 49500, 60000, '94077799230000', true],
    ]);
    expect(r.claims[0]!.adjustments).toEqual([{ group: 'CO', reason: 'A2', amountCents: 5000 }]);
    expect(r.claims[0]!.services).toEqual([
      { qualifier: 'HC', procedureCode: '99211', modifiers: [], chargeCents: 80000, paidCents: 50000, serviceDate: '20020301', adjustments: [{ group: 'PR', reason: '1', amountCents: 30000 }], remarkCodes: [] },
    ]);
    expect(r.claims[1]!.adjustments).toEqual([{ group: 'CO', reason: 'A2', amountCents: 5500 }]);
    expect(r.claims[1]!.services[0]!.adjustments).toEqual([
      { group: 'PR', reason: '1', amountCents: 60000 },
      { group: 'CO', reason: '45', amountCents: 5000 },
    ]);
  });

  test('COB with a negative adjustment, and SVC written with ">" under ISA16 ":"', () => {
    const { remittances, warnings } = read835(read('835_5010_cob_negative_adjustment.x12'));
    const c = remittances[0]!.claims[0]!;
    expect(remittances[0]).toMatchObject({ totalPaidCents: 3400, paymentMethod: 'CHK', traceNumber: '0063158ABC', balanced: true });
    expect(c).toMatchObject({ claimId: '0001000055', statusCode: '2', chargeCents: 54100, paidCents: 3400, patientResponsibilityCents: 0, balanced: true });
    expect(c.services[0]).toMatchObject({ qualifier: 'HC', procedureCode: '55669', chargeCents: 54100, paidCents: 3400, units: 1, serviceDate: '20050202' });
    expect(c.services[0]!.adjustments).toEqual([
      { group: 'OA', reason: '23', amountCents: 51600 },
      { group: 'OA', reason: '94', amountCents: -900 },
    ]);
    expect(warnings.some((w) => w.includes('SVC01'))).toBe(true);
  });

  test('secondary payment: two claims, a CAS with two triplets, modifiers behind ">"', () => {
    const r = read835(read('835_5010_secondary_payment_component_sep_mismatch.x12')).remittances[0]!;
    expect(r).toMatchObject({ totalPaidCents: 122200, traceNumber: '0012524965', balanced: true });
    expect(r.claims.map((c) => [c.claimId, c.chargeCents, c.paidCents, c.patientResponsibilityCents, c.balanced])).toEqual([
      ['L0004828311', 1032364, 91200, 0, true],
      ['0001000053', 75150, 31000, 22000, true],
    ]);
    expect(r.claims[0]!.adjustments).toEqual([{ group: 'OA', reason: '23', amountCents: 941164 }]);
    const [s1, s2] = r.claims[1]!.services;
    expect(s1).toMatchObject({ procedureCode: '12345', modifiers: ['26'], chargeCents: 16650, paidCents: 3000, adjustments: [{ group: 'OA', reason: '23', amountCents: 13650 }] });
    expect(s2).toMatchObject({ procedureCode: '66543', modifiers: ['26'], chargeCents: 58500, paidCents: 28000 });
    expect(s2!.adjustments).toEqual([
      { group: 'PR', reason: '1', amountCents: 15000 },
      { group: 'PR', reason: '2', amountCents: 7000 },
      { group: 'CO', reason: '42', amountCents: 8500 },
    ]);
  });

  test('denied claim with three zero-paid lines and remark codes', () => {
    const r = read835(read('835_5010_multiple_service_lines_pyx12.x12')).remittances[0]!;
    expect(r).toMatchObject({ handlingCode: 'H', totalPaidCents: 0, paymentMethod: 'NON', balanced: true });
    const c = r.claims[0]!;
    expect(c).toMatchObject({ claimId: '2005555A', statusCode: '4', chargeCents: 91539, paidCents: 0, balanced: true });
    expect(c.services.map((s) => [s.procedureCode, s.chargeCents, s.paidCents, s.units, s.adjustments, s.remarkCodes])).toEqual([
      ['T1005', 50004, 0, 68, [{ group: 'CO', reason: '16', amountCents: 50004 }], ['N14']],
      ['T1005', 12780, 0, 16, [{ group: 'OA', reason: 'A7', amountCents: 12780 }], ['N14']],
      ['T1005', 28755, 0, 36, [{ group: 'OA', reason: 'A7', amountCents: 28755 }], ['N14']],
    ]);
  });

  test('payment and adjustment events for the EMR, with stable IDs', () => {
    const parsed = parseX12(read('835_5010_managed_care_two_claims.x12'));
    expect(parsed.kind).toBe('835');
    if (parsed.kind !== '835') return;
    const payments = parsed.events.filter((e) => e.type === 'claim.payment');
    const adjustments = parsed.events.filter((e) => e.type === 'claim.adjustment');
    expect(payments.map((p) => [p.claimId, p.paidCents])).toEqual([
      ['5554555444', 45000],
      ['8765432112', 49500],
    ]);
    expect(adjustments.map((a) => [a.claimId, a.level, a.group, a.reason, a.amountCents])).toEqual([
      ['5554555444', 'claim', 'CO', 'A2', 5000],
      ['5554555444', 'service', 'PR', '1', 30000],
      ['8765432112', 'claim', 'CO', 'A2', 5500],
      ['8765432112', 'service', 'PR', '1', 60000],
      ['8765432112', 'service', 'CO', '45', 5000],
    ]);
    expect(payments[0]!.eventId).toBe('7170066655:5554555444:94060555410000:payment');
    expect(remittanceEvents(read835(read('835_5010_managed_care_two_claims.x12')).remittances[0]!)).toEqual(parsed.events);
  });
});

describeCorpus('X12 corpus: 999 and TA1 acknowledgments', () => {
  test('999 rejecting an 837: transaction set 0028 rejected, with the segment error', () => {
    const ack = readAcknowledgment(read('999_5010_rejected_imsweb.x12'));
    expect(ack.groups).toEqual([
      {
        functionalId: 'HC',
        groupControlNumber: '28',
        version: '005010X223A2',
        code: 'R',
        included: 1,
        received: 1,
        accepted: 0,
        errorCodes: [],
        transactions: [{ setId: '837', controlNumber: '0028', code: 'R', errorCodes: ['5'], segmentErrors: [{ segmentId: 'NM', position: 17, loop: '', code: '1', elements: [] }] }],
      },
    ]);
    const manifest: SubmissionManifest = { interchangeControlNumber: '000000028', groupControlNumber: '28', senderId: 'ETIN', receiverId: 'EMEDNYBAT', transactions: [{ controlNumber: '0028', claimIds: ['CLAIM-28'] }], createdAt: '2011-03-11T09:58:00Z' };
    expect(correlateAcknowledgment(ack, manifest)).toEqual([
      { claimId: 'CLAIM-28', status: 'rejected', level: 'transaction', interchangeControlNumber: '000000028', groupControlNumber: '28', transactionControlNumber: '0028', errorCodes: ['5'], segmentErrors: [{ segmentId: 'NM', position: 17, loop: '', code: '1' }] },
    ]);
  });

  test('999 + TA1 accepting the AUTHORED IVF claim correlate to "accepted" for claim IVFRET0318', () => {
    const claims = read837P(read('837p_5010_ivf_retrieval_cycle_AUTHORED.x12'));
    const manifest: SubmissionManifest = {
      interchangeControlNumber: claims.document.interchangeControlNumber,
      groupControlNumber: claims.document.groups[0]!.controlNumber,
      senderId: claims.document.senderId,
      receiverId: claims.document.receiverId,
      transactions: [{ controlNumber: '0001', claimIds: claims.claims.map((c) => c.claimId) }],
      createdAt: '2025-03-20T12:00:00Z',
    };
    const ack = readAcknowledgment(read('837p_5010_ivf_retrieval_cycle_AUTHORED.x12.997'));
    expect(ack.interchanges).toEqual([{ interchangeControlNumber: '000000101', date: '250320', time: '1200', code: 'A', noteCode: '000' }]);
    expect(ack.groups[0]).toMatchObject({ functionalId: 'HC', groupControlNumber: '101', code: 'A', accepted: 1 });
    expect(correlateAcknowledgment(ack, manifest)).toEqual([
      { claimId: 'IVFRET0318', status: 'accepted', level: 'transaction', interchangeControlNumber: '000000101', groupControlNumber: '101', transactionControlNumber: '0001', errorCodes: [], segmentErrors: [] },
    ]);
  });

  test.each([
    ['835_5010_managed_care_two_claims.x12.997', '1'],
    ['835_5010_multiple_service_lines_pyx12.x12.997', '383880001'],
    ['835_5010_secondary_payment_component_sep_mismatch.x12.997', '1'],
  ])('%s (truncated after AK1) reads as an undecided group ack for GS06 %s', (file, gs06) => {
    const parsed = parseX12(read(file));
    expect(parsed.kind).toBe('ack');
    if (parsed.kind !== 'ack') return;
    expect(parsed.acknowledgment.groups).toEqual([{ functionalId: 'HP', groupControlNumber: gs06, version: '005010X221A1', transactions: [], errorCodes: [] }]);
    expect(parsed.warnings.join('\n')).toMatch(/truncated/);
  });
});

describe('TA1 (fixture, always runs)', () => {
  test('an interchange-level reject marks every claim of that interchange rejected', () => {
    const parsed = parseX12(fixtureText('ta1-rejected.x12'));
    expect(parsed.kind).toBe('ack');
    if (parsed.kind !== 'ack') return;
    expect(parsed.acknowledgment.interchanges).toEqual([{ interchangeControlNumber: '000000102', date: '250321', time: '0859', code: 'R', noteCode: '006' }]);
    const manifest: SubmissionManifest = {
      interchangeControlNumber: '000000102',
      groupControlNumber: '102',
      senderId: 'REPROMEDSUBMIT',
      receiverId: 'KEYINSRECEIVER',
      transactions: [
        { controlNumber: '0001', claimIds: ['ACCT-IVF-0318'] },
        { controlNumber: '0002', claimIds: ['ACCT-IVF-0323'] },
      ],
      createdAt: '2025-03-21T08:59:00Z',
    };
    expect(correlateAcknowledgment(parsed.acknowledgment, manifest).map((r) => [r.claimId, r.status, r.level, r.errorCodes])).toEqual([
      ['ACCT-IVF-0318', 'rejected', 'interchange', ['006']],
      ['ACCT-IVF-0323', 'rejected', 'interchange', ['006']],
    ]);
    // A TA1 for another interchange says nothing about these claims.
    expect(correlateAcknowledgment(parsed.acknowledgment, { ...manifest, interchangeControlNumber: '000000103' }).map((r) => r.status)).toEqual(['pending', 'pending']);
  });
});
