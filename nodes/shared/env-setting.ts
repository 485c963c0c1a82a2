/**
 * Settings that config nodes take from the environment, so reference flows
 * can ship with `${HUB_…}` references and no secrets.
 *
 * Node-RED substitutes a property whose whole value is `${VAR}` only when
 * VAR is set; an unset one reaches the node as the literal text. That literal
 * means "not configured", never a value to parse (a URL of `${HUB_…}` would
 * otherwise be reported as invalid on every unconfigured start).
 */

const UNRESOLVED = /^\$\{([^}]*)\}$/;
const ENV_NAME = /^[A-Z][A-Z0-9_]{0,127}$/;

/**
 * @param value - a node property as the runtime handed it over
 * @returns the trimmed value, or '' when empty or an unresolved `${VAR}`
 */
export function envSetting(value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '';
  const s = String(value).trim();
  return UNRESOLVED.test(s) ? '' : s;
}

/**
 * @param value - a node property as the runtime handed it over
 * @returns the variable name of an unresolved `${VAR}` (Node-RED found no such variable), else null
 */
export function unresolvedName(value: string): string | null {
  return UNRESOLVED.exec(value.trim())?.[1] ?? null;
}

/**
 * A secret from the node's credentials or, when that is empty, from the
 * environment variable a property names. Credentials cannot hold `${VAR}`
 * (Node-RED does not substitute them), so containers name the variable
 * instead. The name must start with the node's prefix (e.g. `HUB_STRIPE_`):
 * whoever edits flows must not be able to point a provider secret field at
 * another secret of the hub (the store keys, the admin password) and send it
 * to a host they chose.
 * @param credential - the credential value, if any
 * @param envName - the property naming the variable
 * @param prefix - required prefix of the variable name
 * @param env - the environment (tests pass their own)
 * @returns the secret, or '' when neither is set
 * @throws Error naming the property when the variable name is not allowed (never its value)
 */
export function secretSetting(credential: unknown, envName: unknown, prefix: string, env: NodeJS.ProcessEnv = process.env): string {
  if (typeof credential === 'string' && credential.length > 0) return credential;
  const name = envSetting(envName);
  if (name === '') return '';
  if (!ENV_NAME.test(name) || !name.startsWith(prefix)) throw new Error(`the environment variable for a secret must be named ${prefix}…, got ${name}`);
  return env[name] ?? '';
}
