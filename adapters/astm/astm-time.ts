/**
 * E1394 §6 date and time: `YYYYMMDD[HHMM[SS]]`, local time of the
 * instrument with no zone. The hub needs the zone to produce instants, so
 * it comes from configuration (an instrument profile's `utcOffset`).
 */

const PATTERN = /^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$/;
const OFFSET = /^(Z|[+-](\d{2}):(\d{2}))$/;

/** True for `Z`, `+01:00`, `-05:30`. */
export function isUtcOffset(offset: string): boolean {
  return OFFSET.test(offset);
}

/**
 * ASTM timestamp to an ISO 8601 / FHIR `dateTime`: `2026-12-03T10:15:00+01:00`,
 * or a date alone (`2026-12-03`) when no time was sent.
 *
 * @param value - E1394 date/time text
 * @param utcOffset - the instrument clock's offset (`Z`, `+01:00`)
 * @returns undefined when the value is empty or not a valid date/time
 */
export function astmToIso(value: string | undefined, utcOffset: string): string | undefined {
  const m = value === undefined ? null : PATTERN.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const date = `${y}-${mo}-${d}`;
  if (h === undefined) return date;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? '0') > 59) return undefined;
  return `${date}T${h}:${mi}:${s ?? '00'}${utcOffset === 'Z' ? 'Z' : utcOffset}`;
}

/**
 * A Date as an ASTM timestamp in the given offset.
 *
 * @param date - the instant
 * @param utcOffset - `Z` or `±HH:MM`; default UTC
 */
export function formatAstmTimestamp(date: Date, utcOffset = 'Z'): string {
  const m = OFFSET.exec(utcOffset);
  let minutes = 0;
  if (m && m[1] !== 'Z') minutes = (utcOffset[0] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
  const t = new Date(date.getTime() + minutes * 60_000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(t.getUTCFullYear(), 4)}${p(t.getUTCMonth() + 1)}${p(t.getUTCDate())}${p(t.getUTCHours())}${p(t.getUTCMinutes())}${p(t.getUTCSeconds())}`;
}
