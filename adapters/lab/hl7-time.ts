/**
 * HL7 v2 DTM (`YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]`, v2.5.1 §2.A.22) as
 * ISO 8601. Precision is kept: a date stays a date. Without an offset the
 * sender's local time is meant: `defaultOffset` (the LIS's zone) is
 * applied when given, else only the date is kept.
 * @param dtm - the HL7 timestamp
 * @param defaultOffset - `+01:00`-style offset for timestamps that carry none
 * @returns undefined when the text is not a DTM
 */
export function hl7ToIso(dtm: string | undefined, defaultOffset?: string): string | undefined {
  const m = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2}(?:\.\d{1,4})?)?([+-]\d{4})?$/.exec((dtm ?? '').trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, z] = m;
  if (!mo) return y;
  if (!d) return `${y}-${mo}`;
  if (!h) return `${y}-${mo}-${d}`;
  const zone = z ? `${z.slice(0, 3)}:${z.slice(3)}` : defaultOffset;
  // FHIR dateTime: a time SHALL carry a zone; without one the date is all that is certain.
  if (!zone) return `${y}-${mo}-${d}`;
  return `${y}-${mo}-${d}T${h}:${mi ?? '00'}:${s ?? '00'}${zone}`;
}
