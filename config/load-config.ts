import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error';
import { SETTINGS } from './schema';
import type { HubConfig } from './schema';

export type Env = Record<string, string | undefined>;

/**
 * Reads and validates the configuration. Throws {@link ConfigError} naming
 * the first bad key. Values from the config file may be JSON numbers, booleans
 * or (for HUB_USERS) arrays; they are validated exactly like the env strings.
 */
export function loadConfig(env: Env = process.env, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): HubConfig {
  const file = readConfigFile(env.HUB_CONFIG_FILE, readFile);
  const known = new Set(SETTINGS.map((s) => s.key));
  for (const key of Object.keys(file)) {
    if (!known.has(key)) throw new ConfigError(key, '(in config file)', `not a known setting; known: ${[...known].join(', ')}`);
  }
  const config = {} as Record<string, unknown>;
  for (const s of SETTINGS) {
    const fromEnv = env[s.key];
    const fromFile = file[s.key];
    let raw: string;
    if (fromEnv !== undefined) raw = fromEnv;
    else if (fromFile !== undefined) raw = typeof fromFile === 'string' ? fromFile : JSON.stringify(fromFile);
    else raw = s.default.startsWith('(') ? '' : s.default;
    config[s.field] = s.parse(raw, s.key);
  }
  const c = config as unknown as HubConfig;
  if ((c.tlsCertFile === null) !== (c.tlsKeyFile === null)) {
    throw new ConfigError(c.tlsCertFile ? 'HUB_TLS_KEY_FILE' : 'HUB_TLS_CERT_FILE', '', 'must be set together with the other TLS file');
  }
  if (c.tlsCaFile && !c.tlsCertFile) throw new ConfigError('HUB_TLS_CERT_FILE', '', 'required when HUB_TLS_CA_FILE is set');
  // All three listen on HUB_BIND: a shared port leaves the later listener
  // failing to bind and the hub never ready, with no word on the setting.
  const ports: [string, number][] = [['HUB_PORT', c.port], ['HUB_MLLP_PORT', c.mllpPort], ['HUB_ASTM_PORT', c.astmPort]];
  const isSet = (key: string): boolean => env[key] !== undefined || file[key] !== undefined;
  for (const [i, [key, port]] of ports.entries()) {
    const earlier = ports.slice(0, i).find(([, p]) => p === port);
    if (!earlier) continue;
    // Name the setting the admin wrote, not the default it ran into.
    const [named, other] = isSet(key) || !isSet(earlier[0]) ? [key, earlier[0]] : [earlier[0], key];
    throw new ConfigError(named, String(port), `must differ from ${other}; both listen on HUB_BIND`);
  }
  if (/^postgres/.test(c.storeUrl)) {
    // Hub processes sharing PostgreSQL must share the keys too; a key generated
    // on one machine's disk would make other processes' bodies unreadable.
    if (!c.storeKeys) throw new ConfigError('HUB_STORE_KEYS', '', 'required when HUB_STORE_URL is postgres://');
    if (!c.patientKeySecret) throw new ConfigError('HUB_PATIENT_KEY_SECRET', '', 'required when HUB_STORE_URL is postgres://');
  }
  return c;
}

function readConfigFile(path: string | undefined, readFile: (path: string) => string): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFile(path);
  } catch {
    throw new ConfigError('HUB_CONFIG_FILE', path, 'a readable JSON file');
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new ConfigError('HUB_CONFIG_FILE', path, 'a JSON object whose keys are setting names');
}
