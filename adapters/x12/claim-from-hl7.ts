import { count, get, parse } from '../hl7';
import type { Hl7Message } from '../hl7';
import { unitsToCents } from './amounts';
import type { DependentPatient, Gender, PersonName, PostalAddress, ProfessionalClaim, ServiceLine, Subscriber } from './claim';
import { isIcd10, normalizeIcd10 } from './claim';
import { X12BuildError } from './errors';

export interface ChargeClaimOptions {
  /** CLM05-1 when the source does not say (11 office; 24 ambulatory surgical center for retrievals in an ASC). */
  placeOfService?: string;
  /** SBR09 when the source does not say. Default CI (commercial). */
  filingIndicator?: string;
  /** Payer to bill when the source has no insurance (IN1 / Coverage). */
  payer?: { name: string; id: string };
  /** CLM01 when the source has no account/visit identifier. */
  claimId?: string;
}

/** HL7 table 0063 relationship → X12 PAT01 individual relationship code. */
const RELATIONSHIP: Record<string, string> = { SPO: '01', DOM: '01', CHD: '19', EME: '20', GCH: 'G8', OTH: 'G8' };
/** HL7 coding systems that mean ICD-10(-CM) for diagnosis CE/CWE fields (table 0396). */
const ICD10_SYSTEMS = new Set(['', 'I10', 'I10C', 'ICD10', 'ICD10CM', 'ICD-10-CM']);

/**
 * Build a professional claim from an HL7 v2 DFT^P03 (detail financial
 * transaction): PID for the patient, FT1 charges (type CG) for the service
 * lines, DG1/FT1-19 for diagnoses, IN1 for payer and subscriber.
 *
 * Field use (HL7 v2.5.1 ch. 6): CLM01 ← PID-18 (patient account number) or
 * PV1-19 (visit number); SV1 code ← FT1-25 (procedure code) or FT1-7
 * (transaction code); modifiers ← FT1-26; units ← FT1-10; charge ← FT1-11
 * (extended amount) or FT1-12 × FT1-10; service date ← FT1-4; line control
 * number (REF*6R) ← FT1-2; prior authorization ← IN1-14.
 * @param input - the DFT^P03 text or an already parsed message
 * @param options - defaults for what the message does not carry
 * @throws X12BuildError naming the missing field (never its value)
 */
export function claimFromDft(input: string | Hl7Message, options: ChargeClaimOptions = {}): ProfessionalClaim {
  const msg = typeof input === 'string' ? parse(input) : input;
  const type = `${get(msg, 'MSH-9.1') ?? ''}^${get(msg, 'MSH-9.2') ?? ''}`;
  if (type !== 'DFT^P03') throw new X12BuildError('message is not a DFT^P03', 'MSH-9');

  const claimId = nonEmpty(get(msg, 'PID-18')) ?? nonEmpty(get(msg, 'PV1-19')) ?? options.claimId;
  if (!claimId) throw new X12BuildError('no claim identifier: PID-18 and PV1-19 are empty', 'PID-18');

  const diagnoses: string[] = [];
  const addDiagnosis = (code: string | undefined, system: string | undefined): number | undefined => {
    if (!code || !ICD10_SYSTEMS.has((system ?? '').toUpperCase())) return undefined;
    const dx = normalizeIcd10(code);
    if (!isIcd10(dx)) return undefined;
    const at = diagnoses.indexOf(dx);
    if (at >= 0) return at + 1;
    diagnoses.push(dx);
    return diagnoses.length;
  };
  // DG1-15 priority 1 is the primary diagnosis: it must be HI01 (ABK).
  const dg1 = Array.from({ length: count(msg, 'DG1') }, (_, i) => i + 1)
    .map((n) => ({ n, priority: Number(get(msg, `DG1[${n}]-15`) || '99') }))
    .sort((a, b) => a.priority - b.priority || a.n - b.n);
  for (const { n } of dg1) addDiagnosis(get(msg, `DG1[${n}]-3.1`), get(msg, `DG1[${n}]-3.3`));

  const lines: ServiceLine[] = [];
  const ft1Count = count(msg, 'FT1');
  for (let n = 1; n <= ft1Count; n++) {
    const at = `FT1[${n}]`;
    const txType = get(msg, `${at}-6`) ?? '';
    if (txType !== '' && txType !== 'CG') continue; // credits, payments and adjustments are not billed
    const procedureCode = nonEmpty(get(msg, `${at}-25.1`)) ?? nonEmpty(get(msg, `${at}-7.1`));
    if (!procedureCode) throw new X12BuildError(`${at} has no procedure code (FT1-25 or FT1-7)`, `${at}-25`);
    const units = Number(get(msg, `${at}-10`) || '1');
    const extended = nonEmpty(get(msg, `${at}-11`));
    const unit = nonEmpty(get(msg, `${at}-12`));
    const chargeCents = extended !== undefined ? unitsToCents(extended) : unit !== undefined ? mul(unitsToCents(unit), units) : undefined;
    if (chargeCents === undefined) throw new X12BuildError(`${at} has no amount (FT1-11 or FT1-12)`, `${at}-11`);
    const pointers: number[] = [];
    for (let r = 1; r <= 12; r++) {
      const code = get(msg, `${at}-19[${r}].1`);
      if (code === undefined) break;
      const p = addDiagnosis(code, get(msg, `${at}-19[${r}].3`));
      if (p !== undefined && !pointers.includes(p) && pointers.length < 4) pointers.push(p);
    }
    const modifiers: string[] = [];
    for (let r = 1; r <= 4; r++) {
      const m = nonEmpty(get(msg, `${at}-26[${r}].1`));
      if (m === undefined) break;
      modifiers.push(m);
    }
    const serviceDate = (get(msg, `${at}-4`) ?? '').slice(0, 8);
    if (!serviceDate) throw new X12BuildError(`${at} has no transaction date (FT1-4)`, `${at}-4`);
    lines.push({
      procedureCode,
      ...(modifiers.length ? { modifiers } : {}),
      chargeCents,
      units,
      serviceDate,
      diagnosisPointers: pointers.length ? pointers : [1],
      ...(nonEmpty(get(msg, `${at}-2`)) ? { lineControlNumber: get(msg, `${at}-2`) } : {}),
    });
  }
  if (lines.length === 0) throw new X12BuildError('message has no FT1 charge', 'FT1');
  if (diagnoses.length === 0) throw new X12BuildError('message has no ICD-10-CM diagnosis (DG1-3 or FT1-19)', 'DG1-3');

  const patientName = xpn(msg, 'PID-5');
  const patientDob = (get(msg, 'PID-7') ?? '').slice(0, 8);
  const patientGender = gender(get(msg, 'PID-8'));
  const patientAddress = xad(msg, 'PID-11');

  const hasIn1 = count(msg, 'IN1') > 0;
  const payer = hasIn1 ? { name: get(msg, 'IN1-4.1') ?? '', id: get(msg, 'IN1-3.1') ?? '' } : options.payer;
  if (!payer || !payer.name || !payer.id) throw new X12BuildError('no payer: IN1-3/IN1-4 are empty and no default payer is configured', 'IN1-3');
  const memberId = nonEmpty(get(msg, 'IN1-36')) ?? nonEmpty(get(msg, 'IN1-49.1'));
  if (!memberId) throw new X12BuildError('no member ID: IN1-36 and IN1-49 are empty', 'IN1-36');
  const relationship = (get(msg, 'IN1-17.1') ?? '').toUpperCase();
  const self = relationship === '' || relationship === 'SEL';

  const subscriber: Subscriber = self
    ? { name: patientName, memberId, dateOfBirth: patientDob, gender: patientGender, ...(patientAddress ? { address: patientAddress } : {}) }
    : {
        name: xpn(msg, 'IN1-16'),
        memberId,
        ...(nonEmpty((get(msg, 'IN1-18') ?? '').slice(0, 8)) ? { dateOfBirth: (get(msg, 'IN1-18') ?? '').slice(0, 8) } : {}),
        ...(get(msg, 'IN1-43') ? { gender: gender(get(msg, 'IN1-43')) } : {}),
        ...(xad(msg, 'IN1-19') ? { address: xad(msg, 'IN1-19') } : {}),
      };
  const group = nonEmpty(get(msg, 'IN1-8'));
  if (group) subscriber.groupNumber = group;
  subscriber.payerResponsibility = 'P';
  subscriber.filingIndicator = options.filingIndicator ?? 'CI';

  const patient: DependentPatient | undefined = self
    ? undefined
    : { name: patientName, dateOfBirth: patientDob, gender: patientGender, ...(patientAddress ? { address: patientAddress } : {}), relationship: RELATIONSHIP[relationship] ?? 'G8' };
  const priorAuthorization = nonEmpty(get(msg, 'IN1-14.1'));

  return {
    claimId,
    placeOfService: options.placeOfService ?? '11',
    frequencyCode: '1',
    diagnoses,
    ...(priorAuthorization ? { priorAuthorization } : {}),
    subscriber,
    ...(patient ? { patient } : {}),
    payer,
    lines,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' || value === '""' ? undefined : value;
}

function mul(cents: number | undefined, units: number): number | undefined {
  return cents === undefined ? undefined : Math.round(cents * units);
}

function xpn(msg: Hl7Message, field: string): PersonName {
  const last = get(msg, `${field}.1`) ?? '';
  const first = nonEmpty(get(msg, `${field}.2`));
  const middle = nonEmpty(get(msg, `${field}.3`));
  const suffix = nonEmpty(get(msg, `${field}.4`));
  return { last, ...(first ? { first } : {}), ...(middle ? { middle } : {}), ...(suffix ? { suffix } : {}) };
}

function xad(msg: Hl7Message, field: string): PostalAddress | undefined {
  const line1 = nonEmpty(get(msg, `${field}.1`));
  if (!line1) return undefined;
  const line2 = nonEmpty(get(msg, `${field}.2`));
  return { line1, ...(line2 ? { line2 } : {}), city: get(msg, `${field}.3`) ?? '', state: get(msg, `${field}.4`) ?? '', postalCode: (get(msg, `${field}.5`) ?? '').replace(/\D/g, '') };
}

function gender(value: string | undefined): Gender {
  return value === 'F' || value === 'M' ? value : 'U';
}
