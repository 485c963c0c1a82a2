import { EmrEventError } from './errors';

/**
 * Events the EMR core pushes to the hub. Wire format (JSON):
 * `{ "id": "...", "type": "appointment.booked", "occurredAt": "<ISO 8601>", "data": { ... } }`.
 * Money is `{ "value": 3500.00, "currency": "USD" }` (as FHIR Money) and is
 * carried as integer cents after parsing.
 */
export type EmrEventType = 'appointment.booked' | 'appointment.changed' | 'invoice.issued' | 'charge.posted';
export const EMR_EVENT_TYPES: readonly EmrEventType[] = ['appointment.booked', 'appointment.changed', 'invoice.issued', 'charge.posted'];

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

export type EmrEvent =
  | (EventBase & { type: 'appointment.booked' | 'appointment.changed'; appointment: AppointmentData })
  | (EventBase & { type: 'invoice.issued'; invoice: InvoiceData })
  | (EventBase & { type: 'charge.posted'; charge: ChargeData });

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
  }
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
