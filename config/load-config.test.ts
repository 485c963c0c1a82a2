import { randomBytes } from 'node:crypto';
import { ConfigError } from './config-error';
import { loadConfig } from './load-config';
import { SETTINGS } from './schema';

const noFile = (): string => {
  throw new Error('no file');
};

function configError(env: Record<string, string>, readFile = noFile): ConfigError {
  try {
    loadConfig(env, readFile);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults give an embedded hub on port 1880 with SQLite', () => {
    const c = loadConfig({}, noFile);
    expect(c).toMatchObject({ port: 1880, host: '127.0.0.1', dataDir: './data', storeUrl: 'sqlite:', httpNodeRoot: '/in', metricsPublic: false, users: [] });
    expect(c.retention).toEqual({ sent: 90, filtered: 30, error: 365 });
    expect(c.storeKeys).toBeNull();
    expect(c.adminPassword).toBeNull();
  });

  test.each([
    ['HUB_PORT', 'abc'],
    ['HUB_PORT', '70000'],
    ['HUB_PORT', '1.5'],
    ['HUB_BIND', 'bad host!'],
    ['HUB_STORE_URL', 'mysql://x'],
    ['HUB_LOG_LEVEL', 'verbose'],
    ['HUB_RETENTION', 'sent=0'],
    ['HUB_RETENTION', 'queued=5'],
    ['HUB_METRICS_PUBLIC', 'maybe'],
    ['HUB_HTTP_NODE_ROOT', '/api'],
    ['HUB_SHUTDOWN_TIMEOUT_MS', '60000'],
    ['HUB_ADMIN_PASSWORD', 'short'],
    ['HUB_STORE_KEYS', 'k1:dG9vc2hvcnQ='],
    ['HUB_USERS', '{"not":"an array"}'],
  ])('%s=%s is refused with a message naming the key', (key, value) => {
    const err = configError({ [key]: value });
    expect(err.key).toBe(key);
    expect(err.message.startsWith(`${key}=`)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  test('the message names the value and what is allowed', () => {
    expect(configError({ HUB_PORT: 'abc' }).message).toBe('HUB_PORT="abc" is invalid: an integer from 1 to 65535');
  });

  test('secret values are never echoed in the error', () => {
    const err = configError({ HUB_ADMIN_PASSWORD: 'tiny-pw' });
    expect(err.message).not.toContain('tiny-pw');
  });

  test('a bad user entry names the entry and field', () => {
    const err = configError({ HUB_USERS: JSON.stringify([{ username: 'ana', role: 'superuser', passwordHash: 'x' }]) });
    expect(err.key).toBe('HUB_USERS[0].role');
  });

  test('PostgreSQL requires explicit shared keys', () => {
    expect(configError({ HUB_STORE_URL: 'postgres://u@h/db' }).key).toBe('HUB_STORE_KEYS');
    const keys = `k1:${randomBytes(32).toString('base64')}`;
    expect(configError({ HUB_STORE_URL: 'postgres://u@h/db', HUB_STORE_KEYS: keys }).key).toBe('HUB_PATIENT_KEY_SECRET');
    const c = loadConfig({ HUB_STORE_URL: 'postgres://u@h/db', HUB_STORE_KEYS: keys, HUB_PATIENT_KEY_SECRET: randomBytes(32).toString('base64') }, noFile);
    expect(c.storeUrl).toBe('postgres://u@h/db');
  });

  test('the HTTP, MLLP and ASTM listeners need ports of their own', () => {
    expect(configError({ HUB_MLLP_PORT: '1880' }).message).toBe('HUB_MLLP_PORT="1880" is invalid: must differ from HUB_PORT; both listen on HUB_BIND');
    expect(configError({ HUB_PORT: '9000', HUB_ASTM_PORT: '9000' }).key).toBe('HUB_ASTM_PORT');
    expect(configError({ HUB_MLLP_PORT: '2576' }).message).toBe('HUB_MLLP_PORT="2576" is invalid: must differ from HUB_ASTM_PORT; both listen on HUB_BIND');
    expect(loadConfig({ HUB_PORT: '9000', HUB_MLLP_PORT: '9001', HUB_ASTM_PORT: '9002' }, noFile).astmPort).toBe(9002);
  });

  test('TLS files come in pairs', () => {
    expect(configError({ HUB_TLS_CERT_FILE: '/c.pem' }).key).toBe('HUB_TLS_KEY_FILE');
  });

  test('the config file supplies values, the environment overrides them', () => {
    const file = JSON.stringify({ HUB_PORT: 9000, HUB_LOG_LEVEL: 'debug', HUB_METRICS_PUBLIC: true });
    const c = loadConfig({ HUB_CONFIG_FILE: '/etc/hub.json', HUB_LOG_LEVEL: 'warn' }, () => file);
    expect(c).toMatchObject({ port: 9000, logLevel: 'warn', metricsPublic: true, configFile: '/etc/hub.json' });
  });

  test('an unknown key in the config file is refused by name', () => {
    expect(configError({ HUB_CONFIG_FILE: '/etc/hub.json' }, () => '{"HUB_PROT": 1}').key).toBe('HUB_PROT');
  });

  test('an unreadable or non-object config file is refused', () => {
    expect(configError({ HUB_CONFIG_FILE: '/missing.json' }).key).toBe('HUB_CONFIG_FILE');
    expect(configError({ HUB_CONFIG_FILE: '/etc/hub.json' }, () => '[1,2]').key).toBe('HUB_CONFIG_FILE');
  });

  test('every setting has a unique key and a description', () => {
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
    for (const s of SETTINGS) expect(s.description.length).toBeGreaterThan(10);
  });
});
