import { asJson, identifierValue, listOf, resolveReference, typedIdentifier } from '../emr';
import type { OrderMappingOptions, OrdersFromHl7, PendingOrder } from './pending-orders';

type Json = Record<string, unknown>;

/** FHIR R4 lab orders: ServiceRequests and the resources they reference (as an EMR `order.*` event carries them). */
export interface FhirOrderInput {
  serviceRequests: readonly Json[];
  /** Bundle resources by `Type/id` and by fullUrl. */
  resources?: Readonly<Record<string, Json>>;
}

const LOINC = 'http://loinc.org';
/** ServiceRequest.status values that withdraw an order (FHIR R4 request-status). */
const WITHDRAWN = new Set(['revoked', 'entered-in-error']);
/** FHIR request-priority → ASTM O.6 / HL7 priority. */
const PRIORITY: Record<string, string> = { stat: 'S', asap: 'A', urgent: 'A', routine: 'R' };
/** FHIR administrative-gender → the analyzer's P.9 sex code. */
const SEX: Record<string, string> = { female: 'F', male: 'M', other: 'O', unknown: 'U' };

/**
 * Orders of FHIR ServiceRequests, grouped by specimen, the same way
 * ordersFromHl7 reads an ORM/OML: the specimen id is the request's specimen
 * (a logical reference's identifier, or the referenced Specimen's accession
 * identifier), else its requisition, else its placer identifier. Active
 * requests are orders; revoked or entered-in-error ones cancel their
 * specimen's order; draft, on-hold and completed ones are left alone. The
 * test code is the LOINC coding (else the first), mapped to the instrument's
 * code; the patient (MR identifier, name, birth date, sex) comes from the
 * referenced or contained Patient, else the subject's identifier.
 *
 * @param input - the ServiceRequests and the Bundle's other resources
 * @param options - code mapping to instrument test codes
 */
export function ordersFromServiceRequests(input: FhirOrderInput, options: OrderMappingOptions = {}): OrdersFromHl7 {
  const out: OrdersFromHl7 = { orders: [], cancelled: [] };
  const bySpecimen = new Map<string, PendingOrder>();
  for (const request of input.serviceRequests) {
    const resolve = (ref: unknown): Json | undefined => resolveReference(ref, request, input.resources ?? {});
    const specimen = listOf(request.specimen).map(resolve).find((s) => s !== undefined);
    const specimenId = [
      identifierValue(asJson(listOf(request.specimen)[0])?.identifier),
      identifierValue(specimen?.accessionIdentifier),
      identifierValue(listOf(specimen?.identifier)[0]),
      identifierValue(request.requisition),
      typedIdentifier(request.identifier, 'PLAC'),
    ].find((v): v is string => v !== undefined);
    if (!specimenId) continue;
    const status = String(request.status ?? '');
    if (WITHDRAWN.has(status)) {
      if (!out.cancelled.includes(specimenId)) out.cancelled.push(specimenId);
      continue;
    }
    if (status !== 'active') continue;
    const codings = listOf(asJson(request.code)?.coding).map(asJson).filter((c): c is Json => c !== undefined && typeof c.code === 'string' && c.code !== '');
    const coding = codings.find((c) => c.system === LOINC) ?? codings[0];
    if (!coding) continue;
    const code = String(coding.code);
    const instrumentCode = options.tests?.[code] ?? codings.map((c) => options.tests?.[String(c.code)]).find((t) => t !== undefined) ?? code;
    let order = bySpecimen.get(specimenId);
    if (!order) {
      const placer = typedIdentifier(request.identifier, 'PLAC') ?? identifierValue(request.requisition);
      const collected = astmDateTime(asJson(specimen?.collection)?.collectedDateTime);
      const patient = patientOf(resolve(request.subject), asJson(request.subject));
      order = {
        specimenId,
        tests: [],
        orderedCodes: [],
        priority: PRIORITY[String(request.priority ?? 'routine')] ?? 'R',
        ...(collected ? { collectedAt: collected } : {}),
        ...(placer ? { placerOrder: placer } : {}),
        ...(patient ? { patient } : {}),
      };
      bySpecimen.set(specimenId, order);
      out.orders.push(order);
    }
    if (!order.orderedCodes.includes(code)) order.orderedCodes.push(code);
    if (!order.tests.includes(instrumentCode)) (order.tests as string[]).push(instrumentCode);
  }
  return out;
}

function patientOf(patient: Json | undefined, subject: Json | undefined): PendingOrder['patient'] {
  if (!patient) {
    const id = identifierValue(subject?.identifier);
    return id ? { id } : undefined;
  }
  const id = typedIdentifier(patient.identifier, 'MR');
  const name = asJson(listOf(patient.name)[0]);
  const family = typeof name?.family === 'string' ? name.family : '';
  const given = typeof listOf(name?.given)[0] === 'string' ? (listOf(name?.given)[0] as string) : '';
  const birthDate = typeof patient.birthDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate) ? patient.birthDate.replace(/-/g, '') : undefined;
  const sex = SEX[String(patient.gender ?? '')];
  return {
    ...(id ? { id } : {}),
    ...(family ? { name: { family, ...(given ? { given } : {}) } } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(sex ? { sex } : {}),
  };
}

/** `2026-12-04T08:05:00-05:00` → `20261204080500`: the clock time as written, as ASTM and HL7 carry it. */
function astmDateTime(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(v);
  return m ? `${m[1]}${m[2]}${m[3]}${m[4] ?? ''}${m[5] ?? ''}${m[4] ? (m[6] ?? '00') : ''}` : undefined;
}
