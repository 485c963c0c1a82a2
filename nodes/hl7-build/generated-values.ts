import { randomBytes } from 'node:crypto';

/**
 * A new MSH-10: 20 upper-case hex characters (80 random bits). Twenty is the
 * v2.5 length limit of MSH-10, and randomness rather than a counter keeps IDs
 * unique across redeploys and across hub processes sharing one receiver.
 */
export function newControlId(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

/**
 * An HL7 DTM/TS timestamp to the second with the UTC offset, e.g.
 * `20260314093015-0500`: local wall time, as clinical systems display it,
 * made unambiguous by the offset.
 *
 * @param date - the moment to format
 */
export function hl7Timestamp(date: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    p(date.getFullYear(), 4) +
    p(date.getMonth() + 1) +
    p(date.getDate()) +
    p(date.getHours()) +
    p(date.getMinutes()) +
    p(date.getSeconds()) +
    sign +
    p(Math.floor(abs / 60)) +
    p(abs % 60)
  );
}
