import { Hl7PathError } from './errors';

/**
 * A location in a message: `SEG[n]-F[r].C.S`, every index 1-based.
 * `PID-5[1].1` is the family name of the first patient name, `OBX[2]-5`
 * the value of the second OBX, `PID-3[2].4.1` a sub-component.
 * Unspecified levels are left undefined; access.ts decides what they mean.
 */
export interface Hl7Path {
  segment: string;
  /** Which occurrence of the segment (OBX[2]); default 1. */
  segmentRepeat?: number;
  field?: number;
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const PATH_RE = /^([A-Z][A-Z0-9]{2})(?:\[(\d+)\])?(?:-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?)?$/;
const FIELD_PATH_RE = /^(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?$/;

// Paths come from node configuration and code, so a handful of distinct
// strings is parsed over and over; caching skips the regex on the hot path.
const cache = new Map<string, Readonly<Hl7Path>>();
const CACHE_MAX_ENTRIES = 2000;

/**
 * Parse a path string. The result is shared and frozen: do not modify it.
 *
 * @param path - e.g. `PID-5[1].1`, `OBX[2]-5`, `MSH-9.2`, or just `OBX[2]`
 * @throws Hl7PathError BAD_PATH
 */
export function parsePath(path: string): Readonly<Hl7Path> {
  const hit = cache.get(path);
  if (hit) return hit;
  const m = PATH_RE.exec(path);
  if (!m) throw new Hl7PathError(`not an HL7 path: "${printable(path)}" (expected e.g. PID-5[1].1)`, 'BAD_PATH');
  const result: Hl7Path = { segment: m[1]! };
  setIndex(result, 'segmentRepeat', m[2], path);
  setIndex(result, 'field', m[3], path);
  setIndex(result, 'repetition', m[4], path);
  setIndex(result, 'component', m[5], path);
  setIndex(result, 'subcomponent', m[6], path);
  if (cache.size >= CACHE_MAX_ENTRIES) cache.clear();
  const frozen = Object.freeze(result);
  cache.set(path, frozen);
  return frozen;
}

/**
 * Parse a path relative to a segment: `5`, `5[2].1`, `3.4.1`.
 *
 * @param segment - the segment ID to put in front
 * @param fieldPath - the part after `SEG-`
 */
export function parseFieldPath(segment: string, fieldPath: string): Hl7Path {
  const m = FIELD_PATH_RE.exec(fieldPath);
  if (!m) throw new Hl7PathError(`not a field path: "${printable(fieldPath)}" (expected e.g. 5[1].1)`, 'BAD_PATH');
  const result: Hl7Path = { segment };
  setIndex(result, 'field', m[1], fieldPath);
  setIndex(result, 'repetition', m[2], fieldPath);
  setIndex(result, 'component', m[3], fieldPath);
  setIndex(result, 'subcomponent', m[4], fieldPath);
  return result;
}

/**
 * Format a path back to text (the inverse of parsePath).
 *
 * @param p - the path
 */
export function formatPath(p: Hl7Path): string {
  let s = p.segment;
  if (p.segmentRepeat !== undefined) s += `[${p.segmentRepeat}]`;
  if (p.field === undefined) return s;
  s += `-${p.field}`;
  if (p.repetition !== undefined) s += `[${p.repetition}]`;
  if (p.component !== undefined) s += `.${p.component}`;
  if (p.subcomponent !== undefined) s += `.${p.subcomponent}`;
  return s;
}

type IndexKey = 'segmentRepeat' | 'field' | 'repetition' | 'component' | 'subcomponent';

function setIndex(target: Hl7Path, key: IndexKey, digits: string | undefined, path: string): void {
  if (digits === undefined) return;
  const n = Number(digits);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Hl7PathError(`HL7 path indexes are 1-based: "${printable(path)}"`, 'BAD_PATH');
  }
  target[key] = n;
}

/** Paths are configuration, not PHI, but keep error text short and single-line. */
function printable(path: string): string {
  const clean = path.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? clean.slice(0, 40) + '...' : clean;
}
