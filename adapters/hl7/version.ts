/**
 * Compare HL7 version IDs (MSH-12.1) such as "2.3.1", "2.5", "2.7".
 * Unknown or empty versions compare as "not at least", so version-gated
 * features stay off when a sender does not say what it speaks.
 *
 * @param version - MSH-12.1 as sent
 * @param minimum - e.g. "2.5"
 */
export function versionAtLeast(version: string | undefined, minimum: string): boolean {
  if (!version) return false;
  // Asked for every ACK with the same few pairs: parsing them each time was ~1% of the MLLP intake's CPU.
  const key = `${version}\u0000${minimum}`;
  let answer = known.get(key);
  if (answer === undefined) {
    answer = compare(version, minimum);
    if (known.size < KNOWN_LIMIT) known.set(key, answer);
  }
  return answer;
}

/** Answers kept; version ids come from senders, so the table is bounded. */
const KNOWN_LIMIT = 256;
const known = new Map<string, boolean>();

function compare(version: string, minimum: string): boolean {
  if (!/^\d+(\.\d+)*$/.test(version)) return false;
  const a = version.split('.').map(Number);
  const b = minimum.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
