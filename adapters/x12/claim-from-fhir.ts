import { unitsToCents } from './amounts';
import type { DependentPatient, Gender, PersonName, PostalAddress, ProfessionalClaim, ServiceLine, Subscriber } from './claim';
import { isIcd10, normalizeIcd10 } from './claim';
import type { ChargeClaimOptions } from './claim-from-hl7';
import { X12BuildError } from './errors';

/** Code system URIs (FHIR R4 terminology and US Core). */
export const CPT_SYSTEM = 'http://www.ama-assn.org/go/cpt';
export const HCPCS_SYSTEM = 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets';
export const ICD10CM_SYSTEM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const POS_SYSTEM = 'https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set';

type Json = Record<string, unknown>;

/** FHIR subscriber-relationship code → X12 PAT01. */
const RELATIONSHIP: Record<string, string> = { spouse: '01', child: '19', common: '01', other: 'G8', injured: 'G8' };

/**
 * Build a professional claim from FHIR R4 JSON:
 * - a `Claim` (with `contained` or bundled Patient, Coverage, payer Organization), or
 * - a `Bundle` holding a Claim, or holding `ChargeItem`s plus Patient and Coverage
 *   (and optionally the Account whose identifier becomes CLM01).
 * @param input - parsed JSON (a Claim or a Bundle)
 * @param options - defaults for what the resources do not carry
 * @throws X12BuildError naming the missing element path (never its value)
 */
export function claimFromFhir(input: unknown, options: ChargeClaimOptions = {}): ProfessionalClaim {
  const root = asObject(input, 'resource');
  const resources = new Resolver(root);
  if (root.resourceType === 'Claim') return fromClaim(root, resources, options);
  if (root.resourceType !== 'Bundle') throw new X12BuildError('expected a Claim or a Bundle', 'resourceType');
  const claim = resources.all('Claim')[0];
  if (claim) return fromClaim(claim, resources, options);
  const charges = resources.all('ChargeItem');
  if (charges.length === 0) throw new X12BuildError('Bundle holds no Claim and no ChargeItem', 'Bundle.entry');
  return fromChargeItems(charges, resources, options);
}

function fromClaim(claim: Json, r: Resolver, options: ChargeClaimOptions): ProfessionalClaim {
  const claimId = str(arr(claim.identifier)[0], 'value') ?? options.claimId;
  if (!claimId) throw new X12BuildError('Claim.identifier is missing', 'Claim.identifier');

  const diagnosisEntries = arr(claim.diagnosis)
    .map((d) => asObject(d, 'Claim.diagnosis'))
    .sort((a, b) => Number(a.sequence ?? 0) - Number(b.sequence ?? 0));
  const diagnoses: string[] = [];
  const sequenceToPointer = new Map<number, number>();
  for (const d of diagnosisEntries) {
    const code = codeFrom(d.diagnosisCodeableConcept, [ICD10CM_SYSTEM]);
    if (!code) throw new X12BuildError('Claim.diagnosis has no ICD-10-CM coding', 'Claim.diagnosis.diagnosisCodeableConcept');
    const dx = normalizeIcd10(code);
    if (!isIcd10(dx)) throw new X12BuildError('Claim.diagnosis code is not ICD-10-CM', 'Claim.diagnosis.diagnosisCodeableConcept');
    diagnoses.push(dx);
    sequenceToPointer.set(Number(d.sequence ?? diagnoses.length), diagnoses.length);
  }

  const lines: ServiceLine[] = arr(claim.item).map((raw, i) => {
    const item = asObject(raw, `Claim.item[${i}]`);
    const procedureCode = codeFrom(item.productOrService, [CPT_SYSTEM, HCPCS_SYSTEM]);
    if (!procedureCode) throw new X12BuildError(`Claim.item[${i}].productOrService has no CPT/HCPCS coding`, `Claim.item[${i}].productOrService`);
    const units = num(asMaybeObject(item.quantity)?.value) ?? 1;
    const net = money(item.net);
    const unitPrice = money(item.unitPrice);
    const chargeCents = net ?? (unitPrice !== undefined ? Math.round(unitPrice * units) : undefined);
    if (chargeCents === undefined) throw new X12BuildError(`Claim.item[${i}] has neither net nor unitPrice`, `Claim.item[${i}].net`);
    const serviceDate = fhirDate(item.servicedDate) ?? fhirDate(asMaybeObject(item.servicedPeriod)?.start);
    if (!serviceDate) throw new X12BuildError(`Claim.item[${i}].servicedDate is missing`, `Claim.item[${i}].servicedDate`);
    const modifiers = arr(item.modifier)
      .map((m) => codeFrom(m, []))
      .filter((m): m is string => !!m);
    const pointers = arr(item.diagnosisSequence)
      .map((s) => sequenceToPointer.get(Number(s)))
      .filter((p): p is number => p !== undefined);
    return {
      procedureCode,
      ...(modifiers.length ? { modifiers } : {}),
      chargeCents,
      units,
      serviceDate,
      diagnosisPointers: pointers.length ? pointers.slice(0, 4) : [1],
      ...(item.sequence !== undefined ? { lineControlNumber: String(item.sequence) } : {}),
    };
  });
  if (lines.length === 0) throw new X12BuildError('Claim has no item', 'Claim.item');

  const insurance = arr(claim.insurance).map((x) => asObject(x, 'Claim.insurance'));
  const focal = insurance.find((x) => x.focal === true) ?? insurance[0];
  const coverage = focal ? r.resolve(focal.coverage, 'Coverage') : undefined;
  const patientResource = r.resolve(claim.patient, 'Patient');
  if (!patientResource) throw new X12BuildError('Claim.patient cannot be resolved', 'Claim.patient');
  const priorAuthorization = arr(focal?.preAuthRef).find((x): x is string => typeof x === 'string' && x !== '');
  const placeOfService = codeFrom(arr(claim.item).map((x) => asMaybeObject(x)?.locationCodeableConcept)[0], [POS_SYSTEM]) ?? options.placeOfService ?? '11';

  return assemble({ claimId, placeOfService, diagnoses, lines, priorAuthorization, coverage, patient: patientResource, r, options, at: 'Claim' });
}

function fromChargeItems(charges: Json[], r: Resolver, options: ChargeClaimOptions): ProfessionalClaim {
  const diagnoses: string[] = [];
  const lines: ServiceLine[] = charges.map((charge, i) => {
    const at = `ChargeItem[${i}]`;
    const procedureCode = codeFrom(charge.code, [CPT_SYSTEM, HCPCS_SYSTEM]);
    if (!procedureCode) throw new X12BuildError(`${at}.code has no CPT/HCPCS coding`, `${at}.code`);
    const units = num(asMaybeObject(charge.quantity)?.value) ?? 1;
    // R4 ChargeItem.priceOverride is the price of this charge as billed (the line total).
    const chargeCents = money(charge.priceOverride);
    if (chargeCents === undefined) throw new X12BuildError(`${at}.priceOverride is missing`, `${at}.priceOverride`);
    const serviceDate = fhirDate(charge.occurrenceDateTime) ?? fhirDate(asMaybeObject(charge.occurrencePeriod)?.start);
    if (!serviceDate) throw new X12BuildError(`${at}.occurrence[x] is missing`, `${at}.occurrenceDateTime`);
    const pointers: number[] = [];
    for (const reason of arr(charge.reason)) {
      const code = codeFrom(reason, [ICD10CM_SYSTEM]);
      if (!code) continue;
      const dx = normalizeIcd10(code);
      if (!isIcd10(dx)) continue;
      if (!diagnoses.includes(dx)) diagnoses.push(dx);
      const p = diagnoses.indexOf(dx) + 1;
      if (!pointers.includes(p) && pointers.length < 4) pointers.push(p);
    }
    const lineControlNumber = str(arr(charge.identifier)[0], 'value');
    return { procedureCode, chargeCents, units, serviceDate, diagnosisPointers: pointers.length ? pointers : [1], ...(lineControlNumber ? { lineControlNumber } : {}) };
  });
  if (diagnoses.length === 0) throw new X12BuildError('no ChargeItem.reason carries an ICD-10-CM code', 'ChargeItem.reason');

  const first = charges[0] as Json;
  const patient = r.resolve(first.subject, 'Patient') ?? r.all('Patient')[0];
  if (!patient) throw new X12BuildError('ChargeItem.subject cannot be resolved', 'ChargeItem.subject');
  const account = r.resolve(arr(first.account)[0], 'Account') ?? r.all('Account')[0];
  const coverage = (account ? r.resolve(asMaybeObject(arr(account.coverage)[0])?.coverage, 'Coverage') : undefined) ?? r.all('Coverage')[0];
  const claimId = str(arr(account?.identifier)[0], 'value') ?? options.claimId;
  if (!claimId) throw new X12BuildError('no claim identifier: Account.identifier is missing and no claimId is configured', 'Account.identifier');
  return assemble({ claimId, placeOfService: options.placeOfService ?? '11', diagnoses, lines, priorAuthorization: undefined, coverage, patient, r, options, at: 'ChargeItem' });
}

function assemble(a: {
  claimId: string;
  placeOfService: string;
  diagnoses: string[];
  lines: ServiceLine[];
  priorAuthorization: string | undefined;
  coverage: Json | undefined;
  patient: Json;
  r: Resolver;
  options: ChargeClaimOptions;
  at: string;
}): ProfessionalClaim {
  if (a.diagnoses.length === 0) throw new X12BuildError(`${a.at} has no diagnosis`, `${a.at}.diagnosis`);
  const person = personOf(a.patient);
  const payerOrg = a.coverage ? a.r.resolve(arr(a.coverage.payor)[0], 'Organization') : undefined;
  const payer = payerOrg ? { name: str(payerOrg, 'name') ?? '', id: str(arr(payerOrg.identifier)[0], 'value') ?? '' } : a.options.payer;
  if (!payer || !payer.name || !payer.id) throw new X12BuildError('no payer: Coverage.payor cannot be resolved to an Organization with a name and identifier', 'Coverage.payor');
  if (!a.coverage) throw new X12BuildError('no Coverage', 'Coverage');
  const memberId = str(a.coverage, 'subscriberId') ?? str(arr(a.coverage.identifier)[0], 'value');
  if (!memberId) throw new X12BuildError('Coverage.subscriberId is missing', 'Coverage.subscriberId');
  const relationship = codeFrom(a.coverage.relationship, []) ?? 'self';
  const groupNumber = arr(a.coverage.class)
    .map((c) => asMaybeObject(c))
    .find((c) => codeFrom(c?.type, []) === 'group')?.value;

  const self = relationship === 'self';
  const subscriberResource = self ? a.patient : a.r.resolve(a.coverage.subscriber, 'RelatedPerson') ?? a.r.resolve(a.coverage.subscriber, 'Patient');
  if (!subscriberResource) throw new X12BuildError('Coverage.subscriber cannot be resolved', 'Coverage.subscriber');
  const sub = self ? person : personOf(subscriberResource);
  const subscriber: Subscriber = {
    name: sub.name,
    memberId,
    ...(sub.dateOfBirth ? { dateOfBirth: sub.dateOfBirth } : {}),
    ...(sub.gender ? { gender: sub.gender } : {}),
    ...(sub.address ? { address: sub.address } : {}),
    ...(typeof groupNumber === 'string' && groupNumber ? { groupNumber } : {}),
    payerResponsibility: 'P',
    filingIndicator: a.options.filingIndicator ?? 'CI',
  };
  let patient: DependentPatient | undefined;
  if (!self) {
    if (!person.dateOfBirth) throw new X12BuildError('Patient.birthDate is missing', 'Patient.birthDate');
    patient = { name: person.name, dateOfBirth: person.dateOfBirth, gender: person.gender ?? 'U', ...(person.address ? { address: person.address } : {}), relationship: RELATIONSHIP[relationship] ?? 'G8' };
  }
  return {
    claimId: a.claimId,
    placeOfService: a.placeOfService,
    frequencyCode: '1',
    diagnoses: a.diagnoses,
    ...(a.priorAuthorization ? { priorAuthorization: a.priorAuthorization } : {}),
    subscriber,
    ...(patient ? { patient } : {}),
    payer,
    lines: a.lines,
  };
}

function personOf(resource: Json): { name: PersonName; dateOfBirth?: string; gender?: Gender; address?: PostalAddress } {
  const n = asMaybeObject(arr(resource.name)[0]) ?? {};
  const given = arr(n.given).filter((g): g is string => typeof g === 'string');
  const suffix = arr(n.suffix).find((s): s is string => typeof s === 'string');
  const name: PersonName = {
    last: typeof n.family === 'string' ? n.family : '',
    ...(given[0] ? { first: given[0] } : {}),
    ...(given[1] ? { middle: given[1] } : {}),
    ...(suffix ? { suffix } : {}),
  };
  const a = asMaybeObject(arr(resource.address)[0]);
  const lines = arr(a?.line).filter((l): l is string => typeof l === 'string');
  const address: PostalAddress | undefined =
    a && lines[0]
      ? { line1: lines[0], ...(lines[1] ? { line2: lines[1] } : {}), city: str(a, 'city') ?? '', state: str(a, 'state') ?? '', postalCode: (str(a, 'postalCode') ?? '').replace(/\D/g, '') }
      : undefined;
  const g = resource.gender === 'female' ? 'F' : resource.gender === 'male' ? 'M' : resource.gender ? 'U' : undefined;
  const dob = fhirDate(resource.birthDate);
  return { name, ...(dob ? { dateOfBirth: dob } : {}), ...(g ? { gender: g } : {}), ...(address ? { address } : {}) };
}

/** Finds resources by local (`#id`) or bundle (`Type/id`, fullUrl) reference. */
class Resolver {
  private readonly byKey = new Map<string, Json>();
  private readonly list: Json[] = [];

  constructor(root: Json) {
    this.add(root, undefined);
    if (root.resourceType === 'Bundle') {
      for (const e of arr(root.entry)) {
        const entry = asMaybeObject(e);
        const res = asMaybeObject(entry?.resource);
        if (res) this.add(res, typeof entry?.fullUrl === 'string' ? entry.fullUrl : undefined);
      }
    }
  }

  private add(res: Json, fullUrl: string | undefined): void {
    this.list.push(res);
    if (typeof res.resourceType === 'string' && typeof res.id === 'string') this.byKey.set(`${res.resourceType}/${res.id}`, res);
    if (fullUrl) this.byKey.set(fullUrl, res);
    for (const c of arr(res.contained)) {
      const contained = asMaybeObject(c);
      if (contained && typeof contained.id === 'string') this.byKey.set(`#${contained.id}`, contained);
      if (contained) this.list.push(contained);
    }
  }

  all(type: string): Json[] {
    return this.list.filter((r) => r.resourceType === type);
  }

  resolve(ref: unknown, type: string): Json | undefined {
    const reference = str(ref, 'reference');
    if (!reference) return undefined;
    const found = this.byKey.get(reference) ?? this.byKey.get(reference.replace(/^.*\/(\w+\/[^/]+)$/, '$1'));
    return found && found.resourceType === type ? found : undefined;
  }
}

function asObject(value: unknown, path: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new X12BuildError(`${path} is not an object`, path);
  return value as Json;
}

function asMaybeObject(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown, key: string): string | undefined {
  const v = asMaybeObject(value)?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function money(value: unknown): number | undefined {
  const v = asMaybeObject(value)?.value;
  return typeof v === 'number' || typeof v === 'string' ? unitsToCents(v) : undefined;
}

/** FHIR date/dateTime → CCYYMMDD (the date part as written: no time-zone shift). */
function fhirDate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[1]}${m[2]}${m[3]}` : undefined;
}

/** First coding code of a CodeableConcept whose system is one of `systems` (any system when empty). */
function codeFrom(concept: unknown, systems: string[]): string | undefined {
  for (const c of arr(asMaybeObject(concept)?.coding)) {
    const coding = asMaybeObject(c);
    const code = coding?.code;
    if (typeof code !== 'string' || code === '') continue;
    if (systems.length === 0 || systems.includes(String(coding?.system ?? ''))) return code;
  }
  return undefined;
}
