import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './config-error';
import { loadConfig } from './load-config';

const noFile = (): string => {
  throw new Error('no file');
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, noFile);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const rules = (r: unknown[]): string => JSON.stringify(r);

describe('alert configuration', () => {
  test('defaults: no rules, no webhook, evaluated every 15 s', () => {
    expect(loadConfig({}, noFile)).toMatchObject({ alertRules: [], alertWebhookUrl: null, alertWebhookSecret: null, alertIntervalSeconds: 15 });
  });

  test('rules of every type are parsed with their defaults filled in', () => {
    const c = loadConfig(
      {
        HUB_ALERT_RULES: rules([
          { name: 'intake-errors', type: 'error-rate', endpoint: 'hl7-intake', threshold: 0.2 },
          { name: 'lab-backlog', type: 'queue-depth', queue: 'lab-results', threshold: 500, throttleSeconds: 60, repeatEverySeconds: 3600 },
          { name: 'stale-claims', type: 'queue-oldest-age', queue: 'claims', thresholdSeconds: 3600 },
          { name: 'any-down', type: 'endpoint-down', endpoint: '*' },
          { name: 'dead-letters', type: 'dead-letters-growing' },
        ]),
      },
      noFile,
    );
    expect(c.alertRules).toEqual([
      { name: 'intake-errors', type: 'error-rate', endpoint: 'hl7-intake', threshold: 0.2, windowSeconds: 300, minMessages: 10, throttleSeconds: 300, repeatEverySeconds: null },
      { name: 'lab-backlog', type: 'queue-depth', queue: 'lab-results', threshold: 500, throttleSeconds: 60, repeatEverySeconds: 3600 },
      { name: 'stale-claims', type: 'queue-oldest-age', queue: 'claims', thresholdSeconds: 3600, throttleSeconds: 300, repeatEverySeconds: null },
      { name: 'any-down', type: 'endpoint-down', endpoint: null, forSeconds: 60, throttleSeconds: 300, repeatEverySeconds: null },
      { name: 'dead-letters', type: 'dead-letters-growing', queue: null, windowSeconds: 300, increase: 1, throttleSeconds: 300, repeatEverySeconds: null },
    ]);
  });

  test('@file reads the rules from a JSON file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-alert-rules-'));
    try {
      const file = join(dir, 'rules.json');
      writeFileSync(file, rules([{ name: 'lis-down', type: 'endpoint-down', endpoint: 'lis-mllp', forSeconds: 120 }]));
      expect(loadConfig({ HUB_ALERT_RULES: `@${file}` }, noFile).alertRules).toEqual([expect.objectContaining({ name: 'lis-down', forSeconds: 120 })]);
      expect(configError({ HUB_ALERT_RULES: `@${join(dir, 'missing.json')}` })).toMatchObject({ key: 'HUB_ALERT_RULES', allowed: 'a readable JSON file after @' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the config file may hold the rules as a JSON array', () => {
    const file = JSON.stringify({ HUB_ALERT_RULES: [{ name: 'q', type: 'queue-depth', queue: 'q1', threshold: 3 }] });
    expect(loadConfig({ HUB_CONFIG_FILE: '/etc/hub.json' }, () => file).alertRules).toEqual([expect.objectContaining({ name: 'q', threshold: 3 })]);
  });

  test.each([
    ['not JSON', 'HUB_ALERT_RULES', '[{'],
    ['not an array', 'HUB_ALERT_RULES', '{"name":"x"}'],
    ['a rule that is not an object', 'HUB_ALERT_RULES[0]', '[1]'],
    ['an unknown type', 'HUB_ALERT_RULES[0].type', rules([{ name: 'x', type: 'cpu-high' }])],
    ['a missing name', 'HUB_ALERT_RULES[0].name', rules([{ type: 'endpoint-down' }])],
    ['a duplicate name', 'HUB_ALERT_RULES[1].name', rules([{ name: 'x', type: 'endpoint-down' }, { name: 'x', type: 'endpoint-down' }])],
    ['an error rate above 1', 'HUB_ALERT_RULES[0].threshold', rules([{ name: 'x', type: 'error-rate', threshold: 20 }])],
    ['a missing error-rate threshold', 'HUB_ALERT_RULES[0].threshold', rules([{ name: 'x', type: 'error-rate' }])],
    ['a queue-depth rule without a queue', 'HUB_ALERT_RULES[0].queue', rules([{ name: 'x', type: 'queue-depth', threshold: 5 }])],
    ['a bad queue name', 'HUB_ALERT_RULES[0].queue', rules([{ name: 'x', type: 'queue-depth', queue: 'a b', threshold: 5 }])],
    ['a fractional depth', 'HUB_ALERT_RULES[1].threshold', rules([{ name: 'ok', type: 'endpoint-down' }, { name: 'x', type: 'queue-depth', queue: 'q', threshold: 1.5 }])],
    ['a negative forSeconds', 'HUB_ALERT_RULES[0].forSeconds', rules([{ name: 'x', type: 'endpoint-down', forSeconds: -1 }])],
    ['a too frequent reminder', 'HUB_ALERT_RULES[0].repeatEverySeconds', rules([{ name: 'x', type: 'endpoint-down', repeatEverySeconds: 5 }])],
    ['a field of another rule type', 'HUB_ALERT_RULES[0].queue', rules([{ name: 'x', type: 'endpoint-down', queue: 'q' }])],
    ['an interval of 0', 'HUB_ALERT_INTERVAL_SECONDS', '0'],
    ['a webhook that is not http(s)', 'HUB_ALERT_WEBHOOK_URL', 'ftp://alerts.example/x'],
    ['a short webhook secret', 'HUB_ALERT_WEBHOOK_SECRET', 'short'],
  ])('%s is refused with one line naming %s', (_what, key, value) => {
    const env = key.startsWith('HUB_ALERT_RULES') ? { HUB_ALERT_RULES: value } : { [key]: value };
    const err = configError(env);
    expect(err.key).toBe(key);
    expect(err.message.startsWith(`${key}=`)).toBe(true);
    expect(err.message).not.toContain('\n');
  });

  test('the webhook URL and secret are never echoed (chat webhooks carry their secret in the URL)', () => {
    expect(configError({ HUB_ALERT_WEBHOOK_URL: 'hooks.example/T0/B0/s3cr3t-path' }).message).not.toContain('s3cr3t-path');
    expect(configError({ HUB_ALERT_WEBHOOK_SECRET: 'tiny-secret' }).message).not.toContain('tiny-secret');
    expect(loadConfig({ HUB_ALERT_WEBHOOK_URL: 'https://hooks.example/T0/B0/s3cr3t-path', HUB_ALERT_WEBHOOK_SECRET: 'a-long-enough-secret' }, noFile)).toMatchObject({
      alertWebhookUrl: 'https://hooks.example/T0/B0/s3cr3t-path',
      alertWebhookSecret: 'a-long-enough-secret',
    });
  });
});
