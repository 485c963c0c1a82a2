import { get, getAll, parse, segmentGet } from '../hl7';
import type { Hl7Message } from '../hl7';
import { IntegrationError } from '../shared/errors';

/** Where a reminder may go: the recipient's own contact points (PHI, kept encrypted in the store only). */
export interface ReminderContact {
  /** E.164. */
  phone?: string;
  email?: string;
}

/** An appointment as the scheduler needs it, from an SIU or an EMR event. */
export type AppointmentChange =
  | { action: 'book'; appointmentId: string; start: Date; contact: ReminderContact }
  | { action: 'cancel'; appointmentId: string };

/** SIU triggers that (re)book: new (S12), rescheduled (S13), modified (S14). S15/S17 cancel or delete. */
const BOOK_TRIGGERS = new Set(['S12', 'S13', 'S14']);
const CANCEL_TRIGGERS = new Set(['S15', 'S16', 'S17']);
/** FHIR Appointment.status values after which no reminder may go out. */
const CANCELLED_STATUS = new Set(['cancelled', 'noshow', 'entered-in-error', 'fulfilled']);

function parseError(what: string): IntegrationError {
  // Names the field, never its value: the message is PHI.
  return new IntegrationError(`appointment: ${what}`, 'PARSE', false);
}

/**
 * Reads an SIU^S12/S13/S14/S15/S17. Start from SCH-11.4 (TQ start), else
 * AIS-4; the appointment id is SCH-2 (filler), else SCH-1 (placer); contact
 * points from PID-13 (a CP/PH number, an Internet address). A time without
 * an offset is read in the clinic's time zone.
 * @param siu - the message text, or a parsed message
 * @param timeZone - IANA zone for times without an offset
 * @throws IntegrationError PARSE (not retryable) naming the missing field
 */
export function appointmentFromSiu(siu: string | Hl7Message, timeZone: string): AppointmentChange {
  const message = typeof siu === 'string' ? parse(siu) : siu;
  const type = get(message, 'MSH-9.1');
  const trigger = get(message, 'MSH-9.2') ?? '';
  if (type !== 'SIU') throw parseError('MSH-9 is not SIU');
  const appointmentId = get(message, 'SCH-2.1') || get(message, 'SCH-1.1');
  if (!appointmentId) throw parseError('SCH-2 and SCH-1 are empty');
  if (CANCEL_TRIGGERS.has(trigger)) return { action: 'cancel', appointmentId };
  if (!BOOK_TRIGGERS.has(trigger)) throw parseError(`trigger ${trigger.slice(0, 3)} is not a booking or a cancellation`);
  const raw = get(message, 'SCH-11.4') || get(message, 'AIS-4.1') || get(message, 'AIS-4');
  if (!raw) throw parseError('SCH-11.4 and AIS-4 are empty');
  return { action: 'book', appointmentId, start: hl7DateTime(raw, timeZone, 'SCH-11.4'), contact: siuContact(message) };
}

function siuContact(message: Hl7Message): ReminderContact {
  const contact: ReminderContact = {};
  const pid = getAll(message, 'PID')[0];
  if (!pid) return contact;
  for (let r = 1; r <= 10; r += 1) {
    const use = segmentGet(message, pid, `13[${r}].2`);
    const equipment = segmentGet(message, pid, `13[${r}].3`) ?? '';
    const email = segmentGet(message, pid, `13[${r}].4`);
    const number = segmentGet(message, pid, `13[${r}].12`) || segmentGet(message, pid, `13[${r}].1`) || composed(message, pid, r);
    if (use === undefined && equipment === '' && !email && !number) break;
    if (!contact.email && email && (equipment === 'Internet' || equipment === 'X.400' || use === 'NET')) contact.email = email;
    else if (!contact.phone && number && (equipment === 'CP' || equipment === 'PH' || equipment === '')) {
      const e164 = toE164(number);
      if (e164) contact.phone = e164;
    }
  }
  return contact;
}

function composed(message: Hl7Message, pid: Parameters<typeof segmentGet>[1], r: number): string | undefined {
  const area = segmentGet(message, pid, `13[${r}].6`);
  const local = segmentGet(message, pid, `13[${r}].7`);
  if (!area || !local) return undefined;
  return `+${segmentGet(message, pid, `13[${r}].5`) || '1'}${area}${local}`;
}

/** North American numbers without a country code get +1; anything else needs its own +. */
function toE164(number: string): string | undefined {
  const plus = number.trim().startsWith('+');
  const digits = number.replace(/\D/g, '');
  if (plus && digits.length >= 8 && digits.length <= 15) return `+${digits}`;
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  return undefined;
}

/**
 * An HL7 DTM (`YYYYMMDDHHMM[SS][.S][+/-ZZZZ]`) as an instant.
 * @param raw - the DTM
 * @param timeZone - zone for a value without an offset
 * @param field - named in errors
 */
export function hl7DateTime(raw: string, timeZone: string, field: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(raw.trim());
  if (!m) throw parseError(`${field} is not a date-time to the minute`);
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '00'].map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  if (m[7]) {
    const sign = m[7].startsWith('-') ? -1 : 1;
    const offsetMin = sign * (Number(m[7].slice(1, 3)) * 60 + Number(m[7].slice(3, 5)));
    return new Date(wall - offsetMin * 60_000);
  }
  return new Date(zonedWallToUtc(wall, timeZone));
}

/** The UTC instant at which the wall clock in `timeZone` shows `wall` (read as if UTC). Twice, for DST edges. */
function zonedWallToUtc(wall: number, timeZone: string): number {
  let guess = wall - zoneOffsetMs(wall, timeZone);
  guess = wall - zoneOffsetMs(guess, timeZone);
  return guess;
}

function zoneOffsetMs(at: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(new Date(at));
  const v = (t: string): number => Number(parts.find((p) => p.type === t)?.value);
  return Date.UTC(v('year'), v('month') - 1, v('day'), v('hour'), v('minute'), v('second')) - Math.floor(at / 1000) * 1000;
}

/**
 * From an EMR appointment event (emr-in). EMR events carry no contact
 * points: a change reuses those of the reminders already scheduled.
 * @param appointment - `emrEvent.appointment`
 */
export function appointmentFromEmrEvent(appointment: { appointmentId: string; status: string; start: string }): AppointmentChange {
  if (CANCELLED_STATUS.has(appointment.status)) return { action: 'cancel', appointmentId: appointment.appointmentId };
  const start = new Date(appointment.start);
  if (Number.isNaN(start.getTime())) throw parseError('start is not a date-time');
  return { action: 'book', appointmentId: appointment.appointmentId, start, contact: {} };
}

/**
 * `24h,2h,30m` → milliseconds, largest first.
 * @param spec - comma-separated durations in d, h or m
 * @throws IntegrationError PARSE naming the bad entry
 */
export function parseOffsets(spec: string): number[] {
  const unit: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };
  const out = spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const m = /^(\d+(?:\.\d+)?)\s*([dhm])$/.exec(s);
      if (!m || Number(m[1]) <= 0) throw new IntegrationError(`reminder offset "${s.slice(0, 20)}" is not like 24h, 2h or 30m`, 'PARSE', false);
      return Math.round(Number(m[1]) * unit[m[2]!]!);
    });
  return [...new Set(out)].sort((a, b) => b - a);
}
