import { envSetting, unresolvedName } from '../shared/env-setting';

/**
 * The settings of `requires` that are not set. `requires` lists environment
 * variable names (`HUB_EMR_FHIR_URL`), which are looked up. A `${NAME}` token
 * is also understood: left as it is, it means Node-RED found no such variable;
 * once Node-RED has put the value in, the token is no longer an upper-case name
 * and counts as set. Names, not `${…}`, are the documented form: a value never
 * needs to pass through here.
 */
export function missingSettings(requires: string | undefined, lookup: (name: string) => unknown): string[] {
  const missing: string[] = [];
  for (const token of (requires ?? '').split(/[\s,]+/).filter(Boolean)) {
    const unresolved = unresolvedName(token);
    if (unresolved !== null) missing.push(unresolved);
    else if (/^[A-Z_][A-Z0-9_]*$/.test(token) && envSetting(lookup(token)) === '') missing.push(token);
  }
  return missing;
}
