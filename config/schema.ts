import { ConfigError } from './config-error';
import { parseQueueUrl, resolvePolicy } from '../adapters/queue';
import type { QueuePolicyInput } from '../adapters/queue';
import { readFileSync } from 'node:fs';
import { AlertRuleError, parseAlertRules } from '../adapters/alerts/rules';
import type { AlertRule } from '../adapters/alerts/types';

/**
 * The hub's one configuration schema. Every setting has one name, used both
 * as the environment variable and as the key in the optional JSON config file
 * (`HUB_CONFIG_FILE`); the environment wins. The README's configuration table
 * lists exactly these keys (a test keeps the two in step).
 */
export const ROLES = ['admin', 'analyst', 'operator', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface ConfiguredUser {
  username: string;
  role: Role;
  passwordHash: string;
}

export interface HubConfig {
  configFile: string | null;
  port: number;
  host: string;
  mllpPort: number;
  astmPort: number;
  dataDir: string;
  flowsDir: string;
  storeUrl: string;
  queueUrl: string;
  queuePolicies: Record<string, QueuePolicyInput>;
  queueDefaultPolicy: QueuePolicyInput;
  queuePrefix: string | null;
  queueEncryptBodies: boolean;
  storeKeys: string | null;
  patientKeySecret: string | null;
  credentialSecret: string | null;
  adminPassword: string | null;
  users: ConfiguredUser[];
  sessionTtlMinutes: number;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  tlsCaFile: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  retention: Partial<Record<'sent' | 'filtered' | 'error', number>>;
  pruneIntervalMinutes: number;
  metricsPublic: boolean;
  httpNodeRoot: string;
  shutdownTimeoutMs: number;
  alertRules: AlertRule[];
  alertIntervalSeconds: number;
  alertWebhookUrl: string | null;
  alertWebhookSecret: string | null;
}

export interface SettingSpec<K extends keyof HubConfig = keyof HubConfig> {
  key: string;
  field: K;
  default: string;
  allowed: string;
  description: string;
  parse(raw: string, key: string): HubConfig[K];
}

const fail = (key: string, raw: string, allowed: string): never => {
  throw new ConfigError(key, raw, allowed);
};

function int(min: number, max: number) {
  return (raw: string, key: string): number => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) fail(key, raw, `an integer from ${min} to ${max}`);
    return n;
  };
}
const str = (raw: string): string => raw;
const optional = (raw: string): string | null => (raw === '' ? null : raw);
function bool(raw: string, key: string): boolean {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  return fail(key, raw, 'true or false');
}

function storeUrl(raw: string, key: string): string {
  if (/^sqlite:/.test(raw) || /^postgres(ql)?:\/\/[^/]+/.test(raw)) return raw;
  return fail(key, raw, 'sqlite: (file in the data dir), sqlite:/path/to/file.db, or postgres://user@host:port/database');
}

function storeKeys(raw: string, key: string): string | null {
  if (raw === '') return null;
  for (const part of raw.split(',')) {
    const m = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=_-]+)$/.exec(part.trim());
    if (!m || Buffer.from(m[2]!, 'base64').length !== 32) {
      fail(key, '<redacted>', 'comma-separated id:key pairs, each key 32 bytes in base64 (openssl rand -base64 32); the first encrypts new bodies');
    }
  }
  return raw;
}

function secret(minBytes: number, encoding: 'base64' | 'text') {
  return (raw: string, key: string): string | null => {
    if (raw === '') return null;
    const len = encoding === 'base64' ? Buffer.from(raw, 'base64').length : Buffer.byteLength(raw);
    if (len < minBytes) fail(key, '<redacted>', encoding === 'base64' ? `at least ${minBytes} bytes in base64` : `at least ${minBytes} characters`);
    return raw;
  };
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
function users(raw: string, key: string): ConfiguredUser[] {
  if (raw === '') return [];
  const allowed = `a JSON array of {"username","role","passwordHash"} with role one of ${ROLES.join(', ')} and a bcrypt hash`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return fail(key, '<not JSON>', allowed);
  }
  if (!Array.isArray(parsed)) return fail(key, '<not an array>', allowed);
  const seen = new Set<string>();
  return parsed.map((u: unknown, i) => {
    const o = (u ?? {}) as Record<string, unknown>;
    const where = `${key}[${i}]`;
    if (typeof o.username !== 'string' || !/^[A-Za-z0-9._@-]{1,64}$/.test(o.username)) fail(`${where}.username`, String(o.username), 'letters, digits and ._@- (1-64)');
    if (seen.has(o.username as string)) fail(`${where}.username`, String(o.username), 'a name not used by another user');
    seen.add(o.username as string);
    if (!ROLES.includes(o.role as Role)) fail(`${where}.role`, String(o.role), `one of ${ROLES.join(', ')}`);
    if (typeof o.passwordHash !== 'string' || !BCRYPT.test(o.passwordHash)) fail(`${where}.passwordHash`, '<redacted>', 'a bcrypt hash ($2b$…)');
    return { username: o.username as string, role: o.role as Role, passwordHash: o.passwordHash as string };
  });
}

const RETAINABLE = ['sent', 'filtered', 'error'] as const;
function retention(raw: string, key: string): HubConfig['retention'] {
  const out: HubConfig['retention'] = {};
  if (raw.trim() === '') return out;
  const allowed = `comma-separated status=days with status one of ${RETAINABLE.join(', ')} and days 1-36500, e.g. sent=90,error=365`;
  for (const part of raw.split(',')) {
    const m = /^\s*(\w+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || !RETAINABLE.includes(m[1] as (typeof RETAINABLE)[number])) return fail(key, raw, allowed);
    const days = Number(m[2]);
    if (days < 1 || days > 36500) return fail(key, raw, allowed);
    out[m[1] as (typeof RETAINABLE)[number]] = days;
  }
  return out;
}

function queueUrl(raw: string, key: string): string {
  try {
    parseQueueUrl(raw);
    return raw;
  } catch {
    // The URL may carry a broker password: never echo it.
    return fail(key, /:\/\/[^@/]*@/.test(raw) ? '<redacted>' : raw, 'embedded:, embedded:<file>, amqp(s)://user:pass@host:port/vhost or sqs://<region>[?endpoint=<url>]');
  }
}

function jsonObject(raw: string, key: string): unknown {
  try {
    const v: unknown = JSON.parse(raw === '' ? '{}' : raw);
    if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  } catch {
    // reported below
  }
  return fail(key, '<not a JSON object>', 'a JSON object');
}

function queuePolicies(raw: string, key: string): Record<string, QueuePolicyInput> {
  const v = jsonObject(raw, key) as Record<string, QueuePolicyInput>;
  for (const [name, policy] of Object.entries(v)) {
    try {
      resolvePolicy(policy, undefined, name);
    } catch (err) {
      fail(`${key}.${name}`, '<policy>', (err as Error).message);
    }
  }
  return v;
}

function queueDefaultPolicy(raw: string, key: string): QueuePolicyInput {
  const v = jsonObject(raw, key) as QueuePolicyInput;
  try {
    resolvePolicy(v);
  } catch (err) {
    fail(key, '<policy>', (err as Error).message);
  }
  return v;
}

function queuePrefix(raw: string, key: string): string | null {
  if (raw === '') return null;
  if (/^[A-Za-z0-9._-]{1,40}$/.test(raw)) return raw;
  return fail(key, raw, 'letters, digits and ._- (1-40)');
}

function host(raw: string, key: string): string {
  if (/^[A-Za-z0-9.:-]+$/.test(raw)) return raw;
  return fail(key, raw, 'an IP address or host name to bind, e.g. 0.0.0.0 or 127.0.0.1');
}

function logLevel(raw: string, key: string): HubConfig['logLevel'] {
  if (raw === 'debug' || raw === 'info' || raw === 'warn' || raw === 'error') return raw;
  return fail(key, raw, 'one of debug, info, warn, error');
}

function urlPath(raw: string, key: string): string {
  if (/^\/[A-Za-z0-9_-]+$/.test(raw) && !['/api', '/monitor', '/metrics', '/healthz', '/readyz'].includes(raw)) return raw;
  return fail(key, raw, 'a single path segment like /in, not used by the hub itself');
}

const ALERT_RULES_ALLOWED = 'a JSON array of rules (or @/path/to/rules.json): {"name","type"} with type error-rate, queue-depth, queue-oldest-age, endpoint-down or dead-letters-growing';
function alertRules(raw: string, key: string): AlertRule[] {
  let text = raw.trim();
  if (text === '') return [];
  // A rule set is easier to keep and review as its own file than inside an environment variable.
  if (text.startsWith('@')) {
    const path = text.slice(1);
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return fail(key, raw, 'a readable JSON file after @');
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail(key, '<not JSON>', ALERT_RULES_ALLOWED);
  }
  try {
    return parseAlertRules(parsed);
  } catch (err) {
    if (err instanceof AlertRuleError) return fail(`${key}${err.path}`, err.value, err.allowed);
    throw err;
  }
}

function webhookUrl(raw: string, key: string): string | null {
  if (raw === '') return null;
  let u: URL | null = null;
  try {
    u = new URL(raw);
  } catch {
    // reported below
  }
  // Chat-tool webhook URLs carry their secret in the path: never echo one.
  if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) return fail(key, '<redacted>', 'an http:// or https:// URL');
  return raw;
}

function spec<K extends keyof HubConfig>(s: SettingSpec<K>): SettingSpec<K> {
  return s;
}

export const SETTINGS: SettingSpec[] = [
  spec({ key: 'HUB_CONFIG_FILE', field: 'configFile', default: '', allowed: 'path to a JSON file', description: 'Optional JSON file whose keys are the names in this table; environment variables override it.', parse: optional }),
  spec({ key: 'HUB_PORT', field: 'port', default: '1880', allowed: '1-65535', description: 'Port of the hub HTTP(S) server (editor, API, monitor, metrics, health).', parse: int(1, 65535) }),
  spec({ key: 'HUB_BIND', field: 'host', default: '127.0.0.1', allowed: 'IP or host name', description: 'Address the HTTP server and the reference flows\' listeners bind. Loopback by default; set 0.0.0.0 to serve the network (the Docker image does).', parse: host }),
  spec({ key: 'HUB_MLLP_PORT', field: 'mllpPort', default: '2575', allowed: '1-65535', description: 'MLLP port of the reference HL7 intake flow (bound to HUB_BIND); flows read it as `${HUB_MLLP_PORT}`.', parse: int(1, 65535) }),
  spec({ key: 'HUB_ASTM_PORT', field: 'astmPort', default: '2576', allowed: '1-65535', description: 'ASTM E1381 port of the reference analyzer intake flow (bound to HUB_BIND); flows read it as `${HUB_ASTM_PORT}`.', parse: int(1, 65535) }),
  spec({ key: 'HUB_DATA_DIR', field: 'dataDir', default: './data', allowed: 'directory path', description: 'Runtime data: Node-RED user dir (flows, credentials), SQLite store, generated secrets.', parse: str }),
  spec({ key: 'HUB_FLOWS_DIR', field: 'flowsDir', default: './flows', allowed: 'directory path', description: 'Reference flows (*.json) seeded into the runtime on first start.', parse: str }),
  spec({ key: 'HUB_STORE_URL', field: 'storeUrl', default: 'sqlite:', allowed: 'sqlite:[path] or postgres://…', description: 'Message store backend. `sqlite:` keeps it in the data dir; `postgres://` shares it between hub processes.', parse: storeUrl }),
  spec({ key: 'HUB_QUEUE_URL', field: 'queueUrl', default: 'embedded:', allowed: 'embedded:[file], amqp(s)://…, sqs://<region>[?endpoint=…]', description: 'Where retry queues live: `embedded:` is SQLite in the data dir; RabbitMQ or SQS let several hub processes share the work.', parse: queueUrl }),
  spec({ key: 'HUB_QUEUE_POLICIES', field: 'queuePolicies', default: '{}', allowed: 'JSON object: queue → policy', description: 'Per-queue `maxAttempts`, `backoff {minMs,maxMs,factor,jitter}`, `maxAgeMs`, `deadlineWarningMs`, `onDeadline`, `ordering` (`parallel`/`key`), `concurrency`, `prefetch`, `handlerTimeoutMs`. Every hub process must use the same policy for a queue.', parse: queuePolicies }),
  spec({ key: 'HUB_QUEUE_DEFAULT_POLICY', field: 'queueDefaultPolicy', default: '{}', allowed: 'JSON policy', description: 'Policy for queues not listed in HUB_QUEUE_POLICIES.', parse: queueDefaultPolicy }),
  spec({ key: 'HUB_QUEUE_PREFIX', field: 'queuePrefix', default: '', allowed: '[A-Za-z0-9._-]', description: 'Prefix of broker queue names (default `hub.` on RabbitMQ, `hub-` on SQS).', parse: queuePrefix }),
  spec({ key: 'HUB_QUEUE_ENCRYPT_BODIES', field: 'queueEncryptBodies', default: 'true', allowed: 'true, false', description: 'Seal message bodies on RabbitMQ and SQS with HUB_STORE_KEYS (every hub needs the same keys). The embedded queue always seals.', parse: bool }),
  spec({ key: 'HUB_STORE_KEYS', field: 'storeKeys', default: '(generated)', allowed: 'id:base64,…', description: 'AES-256-GCM keys for message bodies at rest. The first encrypts; the others still decrypt (rotation). Generated into the data dir when unset; required with PostgreSQL.', parse: storeKeys }),
  spec({ key: 'HUB_PATIENT_KEY_SECRET', field: 'patientKeySecret', default: '(generated)', allowed: 'base64, ≥ 32 bytes', description: 'HMAC secret for the searchable patient key (the MRN itself is never stored). Generated when unset; required with PostgreSQL.', parse: secret(32, 'base64') }),
  spec({ key: 'HUB_CREDENTIAL_SECRET', field: 'credentialSecret', default: '(generated)', allowed: '≥ 16 characters', description: "Encrypts Node-RED node credentials. Generated once and kept in the data dir when unset.", parse: secret(16, 'text') }),
  spec({ key: 'HUB_ADMIN_PASSWORD', field: 'adminPassword', default: '(generated)', allowed: '≥ 12 characters', description: 'Password of the built-in `admin` user. When unset, the first start generates one, prints it once and writes it to `<data>/admin-password.txt` (0600).', parse: secret(12, 'text') }),
  spec({ key: 'HUB_USERS', field: 'users', default: '[]', allowed: 'JSON array', description: 'More users: `[{"username":"ana","role":"analyst","passwordHash":"$2b$12$…"}]`. Roles: admin, analyst, operator, viewer.', parse: users }),
  spec({ key: 'HUB_SESSION_TTL_MINUTES', field: 'sessionTtlMinutes', default: '480', allowed: '5-10080', description: 'Lifetime of a login session token.', parse: int(5, 10080) }),
  spec({ key: 'HUB_TLS_CERT_FILE', field: 'tlsCertFile', default: '', allowed: 'PEM file', description: 'With HUB_TLS_KEY_FILE, serve HTTPS instead of HTTP.', parse: optional }),
  spec({ key: 'HUB_TLS_KEY_FILE', field: 'tlsKeyFile', default: '', allowed: 'PEM file', description: 'Private key for HUB_TLS_CERT_FILE.', parse: optional }),
  spec({ key: 'HUB_TLS_CA_FILE', field: 'tlsCaFile', default: '', allowed: 'PEM file', description: 'CA bundle; when set, clients must present a certificate it signed.', parse: optional }),
  spec({ key: 'HUB_LOG_LEVEL', field: 'logLevel', default: 'info', allowed: 'debug, info, warn, error', description: 'Log level (JSON lines; never message content).', parse: logLevel }),
  spec({ key: 'HUB_RETENTION', field: 'retention', default: 'sent=90,filtered=30,error=365', allowed: 'status=days,…', description: 'Days to keep messages per terminal status; in-flight messages are never pruned.', parse: retention }),
  spec({ key: 'HUB_PRUNE_INTERVAL_MINUTES', field: 'pruneIntervalMinutes', default: '60', allowed: '1-10080', description: 'How often retention pruning runs.', parse: int(1, 10080) }),
  spec({ key: 'HUB_METRICS_PUBLIC', field: 'metricsPublic', default: 'false', allowed: 'true, false', description: 'Serve /metrics without a token (for a scraper on a trusted network).', parse: bool }),
  spec({ key: 'HUB_HTTP_NODE_ROOT', field: 'httpNodeRoot', default: '/in', allowed: 'one path segment', description: 'Where flows\' http-in endpoints are served; they require an API token.', parse: urlPath }),
  spec({ key: 'HUB_SHUTDOWN_TIMEOUT_MS', field: 'shutdownTimeoutMs', default: '8000', allowed: '1000-9500', description: 'Time given to in-flight work on SIGTERM before the process exits (under the 10 s budget).', parse: int(1000, 9500) }),
  spec({ key: 'HUB_ALERT_RULES', field: 'alertRules', default: '[]', allowed: 'JSON array or @file', description: 'Alert rules, e.g. `[{"name":"intake-errors","type":"error-rate","endpoint":"hl7-intake","threshold":0.2,"windowSeconds":300,"minMessages":10},{"name":"lis-down","type":"endpoint-down","endpoint":"lis-mllp","forSeconds":120},{"name":"lab-backlog","type":"queue-depth","queue":"lab-results","threshold":500},{"name":"stale-claims","type":"queue-oldest-age","queue":"claims","thresholdSeconds":3600},{"name":"dead-letters","type":"dead-letters-growing","increase":1,"windowSeconds":600}]`. Every rule also takes `throttleSeconds` (default 300) and `repeatEverySeconds`. Notices go to HUB_ALERT_WEBHOOK_URL and `hub-alert` nodes; history in the monitor.', parse: alertRules }),
  spec({ key: 'HUB_ALERT_INTERVAL_SECONDS', field: 'alertIntervalSeconds', default: '15', allowed: '1-3600', description: 'How often alert rules are evaluated.', parse: int(1, 3600) }),
  spec({ key: 'HUB_ALERT_WEBHOOK_URL', field: 'alertWebhookUrl', default: '', allowed: 'http(s) URL', description: 'Alert notices (fired, reminder, recovered) are POSTed here as JSON, retried on failure.', parse: webhookUrl }),
  spec({ key: 'HUB_ALERT_WEBHOOK_SECRET', field: 'alertWebhookSecret', default: '', allowed: '≥ 16 characters', description: 'Signs alert webhook requests: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.', parse: secret(16, 'text') }),
];
