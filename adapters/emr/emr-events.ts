import { EmrEventError } from './errors';
import { asJson, resolveReference, typedIdentifier } from './fhir-json';

/**
 * Events the EMR core pushes to the hub. Wire format (JSON):
 * `{ "id": "...", "type": "appointment.booked", "occurredAt": "<ISO 8601>", "data": { ... } }`.
 * Money is `{ "value": 3500.00, "currency": "USD" }` (as FHIR Money) and is
 * carried as integer cents after parsing.
 */
export type EmrEventType = 'appointment.booked' | 'appointment.changed' | 'invoice.issued' | 'charge.posted' | 'order.placed' | 'order.changed';
export const EMR_EVENT_TYPES: readonly EmrEventType[] = ['appointment.booked', 'appointment.changed', 'invoice.issued', 'charge.posted', 'order.placed', 'order.changed'];

interface EventBase {
  /** The EMR's event ID: the idempotency key when storing. */
  id: string;
  occurredAt: string;
}

export interface AppointmentData {
  appointmentId: string;
  patientId: string;
  /** FHIR Appointment.status: proposed, pending, booked, arrived, fulfilled, cancelled, noshow… */
  status: string;
  start: string;
  end?: string;
  /** e.g. `oocyte-retrieval`, `embryo-transfer`, `monitoring-ultrasound`. */
  serviceType?: string;
  practitionerId?: string;
  locationId?: string;
}

export interface InvoiceData {
  invoiceId: string;
  patientId: string;
  accountId?: string;
  totalCents: number;
  currency: string;
  lines: { code: string; system?: string; amountCents: number; quantity: number }[];
}

export interface ChargeData {
  chargeId: string;
  patientId: string;
  /** The billing account (CLM01 patient control number when claims are built per account). */
  accountId: string;
  /** CPT/HCPCS code. */
  code: string;
  quantity: number;
  amountCents: number;
  currency: string;
  /** CCYY-MM-DD. */
  serviceDate: string;
  /** ICD-10-CM codes, dot allowed. */
  diagnoses: string[];
}

/** A FHIR resource as received (JSON); the parts the hub reads are checked where it reads them. */
export type FhirJson = { resourceType: string; id?: string } & Record<string, unknown>;

/**
 * Lab orders as FHIR R4: `data` is one ServiceRequest, or a Bundle whose
 * entries are ServiceRequests and the Patient and Specimen resources they
 * reference (references may also point at resources contained in a request).
 */
export interface OrderData {
  /** The ServiceRequests, in the order sent. */
  serviceRequests: FhirJson[];
  /** Other resources of the Bundle (Patient, Specimen), by `Type/id` and by fullUrl. */
  resources: Record<string, FhirJson>;
  /** The patient's id as the EMR knows it (the first request's subject), for the stored record. */
  patientId: string;
}

export type EmrEvent =
  | (EventBase & { type: 'appointment.booked' | 'appointment.changed'; appointment: AppointmentData })
  | (EventBase & { type: 'invoice.issued'; invoice: InvoiceData })
  | (EventBase & { type: 'charge.posted'; charge: ChargeData })
  | (EventBase & { type: 'order.placed' | 'order.changed'; order: OrderData });

/**
 * Parse and validate one event. Errors name the field path (`data.charge.amount`), never a value.
 * @param rawBody - the verified request body
 * @throws EmrEventError
 */
export function parseEmrEvent(rawBody: Buffer | string): EmrEvent {
  let json: unknown;
  try {
    json = JSON.parse(typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8')) as unknown;
  } catch {
    throw new EmrEventError('event body is not JSON', '$');
  }
  const root = obj(json, '$');
  const id = idString(root.id, 'id');
  const type = root.type;
  if (typeof type !== 'string' || !(EMR_EVENT_TYPES as readonly string[]).includes(type)) throw new EmrEventError('event type is not supported', 'type');
  const occurredAt = isoDateTime(root.occurredAt, 'occurredAt');
  const data = obj(root.data, 'data');
  const base = { id, occurredAt };
  switch (type as EmrEventType) {
    case 'appointment.booked':
    case 'appointment.changed':
      return { ...base, type: type as 'appointment.booked' | 'appointment.changed', appointment: appointment(data) };
    case 'invoice.issued':
      return { ...base, type: 'invoice.issued', invoice: invoice(data) };
    case 'charge.posted':
      return { ...base, type: 'charge.posted', charge: charge(data) };
    case 'order.placed':
    case 'order.changed':
      return { ...base, type: type as 'order.placed' | 'order.changed', order: order(data) };
  }
}

const SERVICE_REQUEST_STATUS = ['draft', 'active', 'on-hold', 'revoked', 'completed', 'entered-in-error', 'unknown'];

function order(d: Record<string, unknown>): OrderData {
  const resources: Record<string, FhirJson> = {};
  const requests: FhirJson[] = [];
  /** Where each request sits in `data`, for error paths. */
  const paths: string[] = [];
  if (d.resourceType === 'ServiceRequest') {
    requests.push(d as FhirJson);
    paths.push('data');
  } else if (d.resourceType === 'Bundle') {
    if (!Array.isArray(d.entry) || d.entry.length === 0) throw new EmrEventError('order bundle has no entries', 'data.entry');
    d.entry.forEach((raw, i) => {
      const entry = obj(raw, `data.entry[${i}]`);
      const r = obj(entry.resource, `data.entry[${i}].resource`);
      const rt = str(r.resourceType, `data.entry[${i}].resource.resourceType`);
      if (rt === 'ServiceRequest') {
        requests.push(r as FhirJson);
        paths.push(`data.entry[${i}].resource`);
      } else {
        if (typeof r.id === 'string') resources[`${rt}/${r.id}`] = r as FhirJson;
        if (typeof entry.fullUrl === 'string') resources[entry.fullUrl] = r as FhirJson;
      }
    });
    if (requests.length === 0) throw new EmrEventError('order bundle holds no ServiceRequest', 'data.entry');
  } else {
    throw new EmrEventError('order data must be a FHIR ServiceRequest or Bundle', 'data.resourceType');
  }
  requests.forEach((r, i) => {
    const path = paths[i]!;
    const status = str(r.status, `${path}.status`);
    if (!SERVICE_REQUEST_STATUS.includes(status)) throw new EmrEventError('status is not a FHIR ServiceRequest.status', `${path}.status`);
    const code = obj(r.code, `${path}.code`);
    if (!Array.isArray(code.coding) || code.coding.length === 0) throw new EmrEventError('code needs at least one coding', `${path}.code.coding`);
    obj(r.subject, `${path}.subject`);
  });
  return { serviceRequests: requests, resources, patientId: idString(patientIdOf(requests[0]!, resources), `${paths[0]!}.subject`) };
}

/**
 * The first request's patient, as the hub keys patients elsewhere (the MRN of
 * HL7 PID-3): the subject's identifier, else the MR identifier of the Patient
 * it references (in the Bundle or contained), else the referenced Patient's id.
 */
function patientIdOf(request: FhirJson, resources: Record<string, FhirJson>): unknown {
  const subject = asJson(request.subject);
  const byIdentifier = asJson(subject?.identifier)?.value;
  if (byIdentifier !== undefined) return byIdentifier;
  const patient = resolveReference(subject, request, resources);
  const reference = subject?.reference;
  return (patient && typedIdentifier(patient.identifier, 'MR')) ?? (typeof reference === 'string' && !reference.startsWith('#') ? reference.replace(/^.*Patient\//, '') : undefined);
}

const APPOINTMENT_STATUS = ['proposed', 'pending', 'booked', 'arrived', 'fulfilled', 'cancelled', 'noshow', 'entered-in-error', 'checked-in', 'waitlist'];

function appointment(d: Record<string, unknown>): AppointmentData {
  const status = str(d.status, 'data.status');
  if (!APPOINTMENT_STATUS.includes(status)) throw new EmrEventError('appointment status is not a FHIR Appointment.status', 'data.status');
  return {
    appointmentId: idString(d.appointmentId, 'data.appointmentId'),
    patientId: idString(d.patientId, 'data.patientId'),
    status,
    start: isoDateTime(d.start, 'data.start'),
    ...(d.end !== undefined ? { end: isoDateTime(d.end, 'data.end') } : {}),
    ...(d.serviceType !== undefined ? { serviceType: str(d.serviceType, 'data.serviceType') } : {}),
    ...(d.practitionerId !== undefined ? { practitionerId: idString(d.practitionerId, 'data.practitionerId') } : {}),
    ...(d.locationId !== undefined ? { locationId: idString(d.locationId, 'data.locationId') } : {}),
  };
}

function invoice(d: Record<string, unknown>): InvoiceData {
  const total = money(d.total, 'data.total');
  if (!Array.isArray(d.lines) || d.lines.length === 0) throw new EmrEventError('invoice needs at least one line', 'data.lines');
  const lines = d.lines.map((raw, i) => {
    const l = obj(raw, `data.lines[${i}]`);
    const m = money(l.amount, `data.lines[${i}].amount`);
    return {
      code: str(l.code, `data.lines[${i}].code`),
      ...(l.system !== undefined ? { system: str(l.system, `data.lines[${i}].system`) } : {}),
      amountCents: m.cents,
      quantity: l.quantity === undefined ? 1 : positive(l.quantity, `data.lines[${i}].quantity`),
    };
  });
  return {
    invoiceId: idString(d.invoiceId, 'data.invoiceId'),
    patientId: idString(d.patientId, 'data.patientId'),
    ...(d.accountId !== undefined ? { accountId: idString(d.accountId, 'data.accountId') } : {}),
    totalCents: total.cents,
    currency: total.currency,
    lines,
  };
}

function charge(d: Record<string, unknown>): ChargeData {
  const amount = money(d.amount, 'data.amount');
  const code = str(d.code, 'data.code');
  if (!/^(\d{4}[0-9FTU]|[A-V]\d{4})$/.test(code)) throw new EmrEventError('charge code is not a CPT/HCPCS code', 'data.code');
  const serviceDate = str(d.serviceDate, 'data.serviceDate');
  if (!/^\d{4}-\d{2}-\d{2}$/.test(serviceDate)) throw new EmrEventError('serviceDate is not CCYY-MM-DD', 'data.serviceDate');
  if (!Array.isArray(d.diagnoses) || d.diagnoses.length === 0) throw new EmrEventError('charge needs at least one diagnosis', 'data.diagnoses');
  const diagnoses = d.diagnoses.map((x, i) => {
    const dx = str(x, `data.diagnoses[${i}]`);
    if (!/^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$/.test(dx)) throw new EmrEventError('diagnosis is not an ICD-10-CM code', `data.diagnoses[${i}]`);
    return dx;
  });
  return {
    chargeId: idString(d.chargeId, 'data.chargeId'),
    patientId: idString(d.patientId, 'data.patientId'),
    accountId: idString(d.accountId, 'data.accountId'),
    code,
    quantity: d.quantity === undefined ? 1 : positive(d.quantity, 'data.quantity'),
    amountCents: amount.cents,
    currency: amount.currency,
    serviceDate,
    diagnoses,
  };
}

function obj(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new EmrEventError(`${path} must be an object`, path);
  return value as Record<string, unknown>;
}

function str(value: unknown, path: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new EmrEventError(`${path} must be a non-empty string`, path);
  return value;
}

/** Identifiers: printable, bounded, no separators that would break downstream formats. */
function idString(value: unknown, path: string): string {
  const s = str(value, path);
  if (!/^[A-Za-z0-9._:@\-/]{1,128}$/.test(s)) throw new EmrEventError(`${path} is not a valid identifier`, path);
  return s;
}

function isoDateTime(value: unknown, path: string): string {
  const s = str(value, path);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) || Number.isNaN(Date.parse(s))) {
    throw new EmrEventError(`${path} is not an ISO 8601 date-time with offset`, path);
  }
  return s;
}

function positive(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new EmrEventError(`${path} must be a positive number`, path);
  return value;
}

function money(value: unknown, path: string): { cents: number; currency: string } {
  const m = obj(value, path);
  const v = m.value;
  const cents = typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 100) : typeof v === 'string' && /^-?\d+(\.\d{1,2})?$/.test(v) ? Math.round(Number(v) * 100) : undefined;
  if (cents === undefined) throw new EmrEventError(`${path}.value must be a decimal amount`, `${path}.value`);
  const currency = m.currency === undefined ? 'USD' : str(m.currency, `${path}.currency`);
  if (!/^[A-Z]{3}$/.test(currency)) throw new EmrEventError(`${path}.currency must be an ISO 4217 code`, `${path}.currency`);
  return { cents, currency };
}
