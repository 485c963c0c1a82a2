import { X12Interchange } from 'node-x12';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { formatAmount, formatQuantity } from './amounts';
import type { BillingParties, InterchangeParties, PersonName, PostalAddress, ProfessionalClaim } from './claim';
import { claimTotalCents, isIcd10, isProcedureCode } from './claim';
import type { ControlNumberSource } from './control-numbers';
import { formatGroupControlNumber, formatInterchangeControlNumber, formatTransactionControlNumber } from './control-numbers';
import { X12BuildError, X12ValidationError } from './errors';
import { isValidNpi } from './npi';
import { readInterchange } from './reader';
import type { SubmissionManifest } from './submission';
import { submissionFileName } from './submission';
import type { X12Delimiters } from './types';
import { validate837P } from './validate-837p';

/** The implementation guide this builder follows (HIPAA-named 837P, errata A1). */
export const X222A1 = '005010X222A1';

/** TR3 limits: 12 diagnosis codes in HI, 50 service lines per claim, 4 pointers and 4 modifiers per line. */
const MAX_DIAGNOSES = 12;
const MAX_LINES = 50;
const MAX_POINTERS = 4;
const MAX_MODIFIERS = 4;

export const DEFAULT_DELIMITERS: Required<X12Delimiters> = { element: '*', segment: '~', component: ':', repetition: '^' };

export interface Claim837Options {
  parties: InterchangeParties;
  billing: BillingParties;
  /** Separators; defaults `*`, `~`, `:`, `^`. */
  delimiters?: Partial<X12Delimiters>;
  /** Write a line break after each segment terminator (readable; clearinghouses ignore it). Default true. */
  lineBreaks?: boolean;
  /** ISA14: ask the receiver for a TA1. Default true, so interchange-level rejects are not silent. */
  requestTa1?: boolean;
}

export interface Claim837Deps {
  controlNumbers: ControlNumberSource;
  /** Source of ISA09/ISA10, GS04/GS05 and BHT04/BHT05. */
  clock?: () => Date;
  logger?: Logger;
}

export interface Built837P {
  x12: string;
  manifest: SubmissionManifest;
  /** Suggested file name for the clearinghouse (unique by ISA13). */
  fileName: string;
}

/** Control numbers for one interchange; `transactions` has one entry per claim. */
export interface ControlNumbers837 {
  interchange: number;
  group: number;
  transactions: number[];
}

/**
 * Builds 837P interchanges: one ISA/GS, and one ST per claim. One claim per
 * transaction set makes the 999 answer (AK2/IK5, per transaction set) an
 * answer about exactly one claim. Every interchange is checked with
 * `validate837P` before it is returned, so a structural bug never reaches a
 * clearinghouse.
 */
export class Claim837Builder {
  private readonly clock: () => Date;
  private readonly logger: Logger;

  constructor(
    private readonly options: Claim837Options,
    private readonly deps: Claim837Deps,
  ) {
    this.clock = deps.clock ?? (() => new Date());
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * Build one interchange holding the claims, with freshly reserved control numbers.
   * @param claims - at least one claim
   * @throws X12BuildError when a claim lacks data or holds a value X12 cannot carry
   * @throws X12ValidationError when the result breaks the 837P structure
   */
  async build(claims: readonly ProfessionalClaim[]): Promise<Built837P> {
    if (claims.length === 0) throw new X12BuildError('no claims to build', 'claims');
    claims.forEach((c, i) => checkClaim(c, `claims[${i}]`));
    checkParties(this.options);
    const [interchange] = await this.deps.controlNumbers.next('interchange');
    const [group] = await this.deps.controlNumbers.next('group');
    const transactions = await this.deps.controlNumbers.next('transaction', claims.length);
    const built = render837P(claims, this.options, { interchange: interchange!, group: group!, transactions }, this.clock());
    const issues = validate837P(readInterchange(built.x12));
    if (issues.length > 0) throw new X12ValidationError(issues);
    this.logger.info('837P built', {
      type: '837P',
      controlId: built.manifest.interchangeControlNumber,
      group: built.manifest.groupControlNumber,
      claims: claims.length,
      bytes: Buffer.byteLength(built.x12),
    });
    return built;
  }
}

/**
 * Render claims to an 837P interchange with the given control numbers. Pure:
 * same input, same bytes. Does not validate; `Claim837Builder.build` does.
 * @param claims - one transaction set per claim
 * @param options - trading partners, billing parties, separators
 * @param numbers - ISA13, GS06 and one ST02 per claim
 * @param now - envelope date and time (written in UTC)
 */
export function render837P(claims: readonly ProfessionalClaim[], options: Claim837Options, numbers: ControlNumbers837, now: Date): Built837P {
  const d = { ...DEFAULT_DELIMITERS, ...options.delimiters };
  const lineBreaks = options.lineBreaks ?? true;
  const p = options.parties;
  const stamp = utcStamp(now);
  const isa13 = formatInterchangeControlNumber(numbers.interchange);
  const gs06 = formatGroupControlNumber(numbers.group);

  const ic = new X12Interchange({
    elementDelimiter: d.element,
    segmentTerminator: d.segment,
    subElementDelimiter: d.component,
    repetitionDelimiter: d.repetition,
    endOfLine: '\n',
    format: lineBreaks,
  });
  ic.setHeader([
    '00', '', '00', '',
    p.senderQualifier, p.senderId, p.receiverQualifier, p.receiverId,
    stamp.yymmdd, stamp.hhmm, d.repetition, '00501', isa13,
    options.requestTa1 === false ? '0' : '1', p.usage, d.component,
  ]);
  const group = ic.addFunctionalGroup();
  group.setHeader(['HC', p.applicationSenderCode, p.applicationReceiverCode, stamp.ccyymmdd, stamp.hhmm, gs06, 'X', X222A1]);

  const transactions: SubmissionManifest['transactions'] = [];
  claims.forEach((claim, i) => {
    const st02 = formatTransactionControlNumber(numbers.transactions[i] ?? i + 1);
    const t = group.addTransaction();
    t.setHeader(['837', st02, X222A1]);
    const add = (tag: string, elements: string[]): void => {
      // A separator inside a value would silently shift every later element: X12 has no escape mechanism.
      if (elements.some((e) => e.includes(d.element) || e.includes(d.segment) || (d.repetition !== '' && e.includes(d.repetition)))) {
        throw new X12BuildError(`segment ${tag} of claim #${i + 1} would contain a separator character`, `claims[${i}]`);
      }
      t.addSegment(tag, trimTrailing(elements));
    };
    const c = (...parts: (string | undefined)[]): string => trimTrailing(parts.map((x) => x ?? '')).join(d.component);
    writeClaimTransaction(add, c, claim, options.billing, { reference: `${isa13}${st02}`, stamp });
    transactions.push({ controlNumber: st02, claimIds: [claim.claimId] });
  });

  const manifest: SubmissionManifest = {
    interchangeControlNumber: isa13,
    groupControlNumber: gs06,
    senderId: p.senderId,
    receiverId: p.receiverId,
    transactions,
    createdAt: now.toISOString(),
  };
  // node-x12 serializes with the trailers (SE/GE/IEA) counted and numbered from the headers.
  const x12 = ic.toString() + (lineBreaks ? '\n' : '');
  return { x12, manifest, fileName: submissionFileName(manifest) };
}

type Add = (tag: string, elements: string[]) => void;
type Composite = (...parts: (string | undefined)[]) => string;

/** The loops of TR3 005010X222A1 in order: header, 1000A/B, 2000A, 2000B, (2000C), 2300, 2400. */
function writeClaimTransaction(add: Add, c: Composite, claim: ProfessionalClaim, billing: BillingParties, ctx: { reference: string; stamp: Stamp }): void {
  // BHT06 CH = chargeable (fee-for-service claim); BHT02 00 = original.
  add('BHT', ['0019', '00', ctx.reference, ctx.stamp.ccyymmdd, ctx.stamp.hhmm, 'CH']);
  // 1000A submitter, 1000B receiver (46 = electronic transmitter identification number).
  add('NM1', ['41', '2', billing.submitter.name, '', '', '', '', '46', billing.submitter.id]);
  add('PER', ['IC', billing.submitter.contactName, 'TE', billing.submitter.phone]);
  add('NM1', ['40', '2', billing.receiver.name, '', '', '', '', '46', billing.receiver.id]);

  // 2000A billing provider.
  add('HL', ['1', '', '20', '1']);
  if (billing.billingProvider.taxonomy) add('PRV', ['BI', 'PXC', billing.billingProvider.taxonomy]);
  add('NM1', ['85', '2', billing.billingProvider.name, '', '', '', '', 'XX', billing.billingProvider.npi]);
  writeAddress(add, billing.billingProvider.address);
  add('REF', ['EI', billing.billingProvider.taxId]);

  // 2000B subscriber; SBR02 18 (self) only when the subscriber is the patient.
  const s = claim.subscriber;
  const dependent = claim.patient;
  add('HL', ['2', '1', '22', dependent ? '1' : '0']);
  add('SBR', [s.payerResponsibility ?? 'P', dependent ? '' : '18', s.groupNumber ?? '', '', '', '', '', '', s.filingIndicator ?? 'CI']);
  writePerson(add, 'IL', s.name, s.memberId);
  if (s.address) writeAddress(add, s.address);
  // DMG is required in 2010BA when the subscriber is the patient (TR3 2010BA DMG situational rule).
  if (s.dateOfBirth) add('DMG', ['D8', s.dateOfBirth, s.gender ?? 'U']);
  add('NM1', ['PR', '2', claim.payer.name, '', '', '', '', 'PI', claim.payer.id]);

  // 2000C patient, only when the patient is not the subscriber.
  if (dependent) {
    add('HL', ['3', '2', '23', '0']);
    add('PAT', [dependent.relationship]);
    writePerson(add, 'QC', dependent.name);
    if (dependent.address) writeAddress(add, dependent.address);
    add('DMG', ['D8', dependent.dateOfBirth, dependent.gender]);
  }

  // 2300 claim. CLM05 = place of service : B (professional, UB facility code qualifier) : frequency.
  // CLM06 Y provider signature on file, CLM07 A assigned, CLM08 Y benefits assigned, CLM09 Y release signed.
  add('CLM', [claim.claimId, formatAmount(claimTotalCents(claim)), '', '', c(claim.placeOfService, 'B', claim.frequencyCode ?? '1'), 'Y', 'A', 'Y', 'Y']);
  if (claim.priorAuthorization) add('REF', ['G1', claim.priorAuthorization]);
  // HI: ABK principal ICD-10-CM, ABF additional.
  add('HI', claim.diagnoses.map((dx, i) => c(i === 0 ? 'ABK' : 'ABF', dx)));

  // 2400 service lines; LX restarts at 1 in every claim.
  claim.lines.forEach((line, i) => {
    add('LX', [String(i + 1)]);
    add('SV1', [c('HC', line.procedureCode, ...(line.modifiers ?? [])), formatAmount(line.chargeCents), 'UN', formatQuantity(line.units), '', '', c(...line.diagnosisPointers.map(String))]);
    add('DTP', ['472', 'D8', line.serviceDate]);
    if (line.lineControlNumber) add('REF', ['6R', line.lineControlNumber]);
  });
}

function writePerson(add: Add, entity: 'IL' | 'QC', name: PersonName, memberId?: string): void {
  const elements = [entity, '1', name.last, name.first ?? '', name.middle ?? '', '', name.suffix ?? ''];
  if (memberId) elements.push('MI', memberId);
  add('NM1', elements);
}

function writeAddress(add: Add, a: PostalAddress): void {
  add('N3', a.line2 ? [a.line1, a.line2] : [a.line1]);
  add('N4', [a.city, a.state, a.postalCode]);
}

/** X12 forbids trailing empty elements (X12.6 §3.7.3: omit trailing separators). */
function trimTrailing(elements: string[]): string[] {
  let end = elements.length;
  while (end > 0 && elements[end - 1] === '') end--;
  return elements.slice(0, end);
}

interface Stamp {
  yymmdd: string;
  ccyymmdd: string;
  hhmm: string;
}

function utcStamp(now: Date): Stamp {
  const iso = now.toISOString(); // 2025-03-20T12:00:00.000Z
  const ccyymmdd = iso.slice(0, 10).replace(/-/g, '');
  return { ccyymmdd, yymmdd: ccyymmdd.slice(2), hhmm: iso.slice(11, 16).replace(':', '') };
}

/** Characters X12 cannot carry inside a value: the separators, and line breaks (there is no escape mechanism in X12). */
const FORBIDDEN = /[*~:^\r\n|>]/;

function checkText(value: string | undefined, field: string, required: boolean, max = 60): void {
  if (value === undefined || value === '') {
    if (required) throw new X12BuildError(`${field} is required`, field);
    return;
  }
  if (FORBIDDEN.test(value)) throw new X12BuildError(`${field} contains a character reserved as an X12 separator`, field);
  if (value.length > max) throw new X12BuildError(`${field} is longer than ${max} characters`, field);
}

function checkDate(value: string | undefined, field: string, required: boolean): void {
  if (value === undefined || value === '') {
    if (required) throw new X12BuildError(`${field} is required`, field);
    return;
  }
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!m || !date || date.getUTCDate() !== Number(m[3]) || date.getUTCMonth() !== Number(m[2]) - 1) {
    throw new X12BuildError(`${field} is not a CCYYMMDD date`, field);
  }
}

function checkName(name: PersonName | undefined, field: string): void {
  if (!name) throw new X12BuildError(`${field} is required`, field);
  checkText(name.last, `${field}.last`, true, 60);
  checkText(name.first, `${field}.first`, false, 35);
  checkText(name.middle, `${field}.middle`, false, 25);
  checkText(name.suffix, `${field}.suffix`, false, 10);
}

function checkAddress(a: PostalAddress | undefined, field: string, required: boolean): void {
  if (!a) {
    if (required) throw new X12BuildError(`${field} is required`, field);
    return;
  }
  checkText(a.line1, `${field}.line1`, true, 55);
  checkText(a.line2, `${field}.line2`, false, 55);
  checkText(a.city, `${field}.city`, true, 30);
  checkText(a.state, `${field}.state`, true, 2);
  if (!/^\d{5}(\d{4})?$/.test(a.postalCode)) throw new X12BuildError(`${field}.postalCode must be 5 or 9 digits`, `${field}.postalCode`);
}

/**
 * Reject claims X12 cannot carry before any control number is spent. Errors
 * name the field path, never its value.
 */
export function checkClaim(claim: ProfessionalClaim, at = 'claim'): void {
  checkText(claim.claimId, `${at}.claimId`, true, 38);
  if (!/^\d{2}$/.test(claim.placeOfService ?? '')) throw new X12BuildError(`${at}.placeOfService must be a two-digit CMS place-of-service code`, `${at}.placeOfService`);
  if (claim.frequencyCode !== undefined && !/^[1-8]$/.test(claim.frequencyCode)) throw new X12BuildError(`${at}.frequencyCode must be 1-8`, `${at}.frequencyCode`);
  checkText(claim.priorAuthorization, `${at}.priorAuthorization`, false, 50);
  if (!Array.isArray(claim.diagnoses) || claim.diagnoses.length === 0) throw new X12BuildError(`${at}.diagnoses needs at least one code`, `${at}.diagnoses`);
  if (claim.diagnoses.length > MAX_DIAGNOSES) throw new X12BuildError(`${at}.diagnoses has more than ${MAX_DIAGNOSES} codes`, `${at}.diagnoses`);
  claim.diagnoses.forEach((dx, i) => {
    if (!isIcd10(dx)) throw new X12BuildError(`${at}.diagnoses[${i}] is not an ICD-10-CM code without dot`, `${at}.diagnoses[${i}]`);
  });
  const s = claim.subscriber;
  if (!s) throw new X12BuildError(`${at}.subscriber is required`, `${at}.subscriber`);
  checkName(s.name, `${at}.subscriber.name`);
  checkText(s.memberId, `${at}.subscriber.memberId`, true, 80);
  checkText(s.groupNumber, `${at}.subscriber.groupNumber`, false, 50);
  checkAddress(s.address, `${at}.subscriber.address`, false);
  checkDate(s.dateOfBirth, `${at}.subscriber.dateOfBirth`, !claim.patient);
  if (s.filingIndicator !== undefined && !/^[0-9A-Z]{2}$/.test(s.filingIndicator)) throw new X12BuildError(`${at}.subscriber.filingIndicator must be a two-character code`, `${at}.subscriber.filingIndicator`);
  if (claim.patient) {
    checkName(claim.patient.name, `${at}.patient.name`);
    checkDate(claim.patient.dateOfBirth, `${at}.patient.dateOfBirth`, true);
    checkAddress(claim.patient.address, `${at}.patient.address`, false);
    if (!/^(01|19|20|21|39|40|53|G8)$/.test(claim.patient.relationship)) throw new X12BuildError(`${at}.patient.relationship is not a PAT01 code`, `${at}.patient.relationship`);
  }
  checkText(claim.payer?.name, `${at}.payer.name`, true, 60);
  checkText(claim.payer?.id, `${at}.payer.id`, true, 80);
  if (!Array.isArray(claim.lines) || claim.lines.length === 0) throw new X12BuildError(`${at}.lines needs at least one service line`, `${at}.lines`);
  if (claim.lines.length > MAX_LINES) throw new X12BuildError(`${at}.lines has more than ${MAX_LINES} service lines`, `${at}.lines`);
  claim.lines.forEach((line, i) => {
    const f = `${at}.lines[${i}]`;
    if (!isProcedureCode(line.procedureCode)) throw new X12BuildError(`${f}.procedureCode is not a CPT/HCPCS code`, `${f}.procedureCode`);
    const mods = line.modifiers ?? [];
    if (mods.length > MAX_MODIFIERS || mods.some((m) => !/^[0-9A-Z]{2}$/.test(m))) throw new X12BuildError(`${f}.modifiers must be up to ${MAX_MODIFIERS} two-character modifiers`, `${f}.modifiers`);
    if (!Number.isInteger(line.chargeCents) || line.chargeCents < 0) throw new X12BuildError(`${f}.chargeCents must be a non-negative integer`, `${f}.chargeCents`);
    if (!(line.units > 0) || !Number.isFinite(line.units)) throw new X12BuildError(`${f}.units must be positive`, `${f}.units`);
    checkDate(line.serviceDate, `${f}.serviceDate`, true);
    const ptrs = line.diagnosisPointers ?? [];
    if (ptrs.length === 0 || ptrs.length > MAX_POINTERS || ptrs.some((p) => !Number.isInteger(p) || p < 1 || p > claim.diagnoses.length)) {
      throw new X12BuildError(`${f}.diagnosisPointers must be 1-${MAX_POINTERS} pointers into diagnoses`, `${f}.diagnosisPointers`);
    }
    checkText(line.lineControlNumber, `${f}.lineControlNumber`, false, 50);
  });
}

function checkParties(options: Claim837Options): void {
  const p = options.parties;
  for (const [k, max] of [['senderId', 15], ['receiverId', 15], ['applicationSenderCode', 15], ['applicationReceiverCode', 15]] as const) {
    checkText(p[k], `parties.${k}`, true, max);
  }
  for (const k of ['senderQualifier', 'receiverQualifier'] as const) {
    if (!/^[0-9A-Z]{2}$/.test(p[k])) throw new X12BuildError(`parties.${k} must be a two-character ISA qualifier`, `parties.${k}`);
  }
  if (p.usage !== 'T' && p.usage !== 'P') throw new X12BuildError('parties.usage must be T or P', 'parties.usage');
  const b = options.billing;
  checkText(b.submitter?.name, 'billing.submitter.name', true);
  checkText(b.submitter?.id, 'billing.submitter.id', true, 80);
  checkText(b.submitter?.contactName, 'billing.submitter.contactName', true);
  if (!/^\d{10}$/.test(b.submitter?.phone ?? '')) throw new X12BuildError('billing.submitter.phone must be 10 digits', 'billing.submitter.phone');
  checkText(b.receiver?.name, 'billing.receiver.name', true);
  checkText(b.receiver?.id, 'billing.receiver.id', true, 80);
  checkText(b.billingProvider?.name, 'billing.billingProvider.name', true);
  if (!isValidNpi(b.billingProvider?.npi ?? '')) throw new X12BuildError('billing.billingProvider.npi is not a valid NPI', 'billing.billingProvider.npi');
  if (!/^\d{9}$/.test(b.billingProvider?.taxId ?? '')) throw new X12BuildError('billing.billingProvider.taxId must be 9 digits', 'billing.billingProvider.taxId');
  if (b.billingProvider.taxonomy !== undefined && !/^[0-9A-Z]{9}X$/.test(b.billingProvider.taxonomy)) throw new X12BuildError('billing.billingProvider.taxonomy is not a taxonomy code', 'billing.billingProvider.taxonomy');
  checkAddress(b.billingProvider.address, 'billing.billingProvider.address', true);
}
