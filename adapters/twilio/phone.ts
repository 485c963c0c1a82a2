/**
 * Phone numbers as the registry and Twilio see them: E.164 (`+` and up to 15
 * digits). Spaces, dashes, dots and parentheses are dropped; nothing else is
 * guessed (no default country), because texting a wrong number is a PHI leak.
 * @param value - a number as configured or received
 * @returns the E.164 form, or null when it is not one
 */
export function toE164(value: string): string | null {
  const compact = value.trim().replace(/[\s().-]/g, '');
  return /^\+[1-9]\d{6,14}$/.test(compact) ? compact : null;
}
