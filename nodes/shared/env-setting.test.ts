import { envSetting, secretSetting } from './env-setting';

describe('settings from the environment', () => {
  test('an unresolved ${VAR} (Node-RED leaves it when VAR is unset) is empty; other values are trimmed', () => {
    expect(envSetting('${HUB_EMR_FHIR_URL}')).toBe('');
    expect(envSetting('  https://emr.example/fhir ')).toBe('https://emr.example/fhir');
    expect(envSetting(2575)).toBe('2575');
    expect(envSetting(undefined)).toBe('');
    expect(envSetting('prefix-${HUB_X}')).toBe('prefix-${HUB_X}');
  });

  test('a secret comes from the credential first, then from the variable the property names', () => {
    const env = { HUB_STRIPE_API_KEY: 'sk_test_from_env' };
    expect(secretSetting('sk_test_from_credential', 'HUB_STRIPE_API_KEY', 'HUB_STRIPE_', env)).toBe('sk_test_from_credential');
    expect(secretSetting('', 'HUB_STRIPE_API_KEY', 'HUB_STRIPE_', env)).toBe('sk_test_from_env');
    expect(secretSetting(undefined, '', 'HUB_STRIPE_', env)).toBe('');
    expect(secretSetting(undefined, 'HUB_STRIPE_UNSET', 'HUB_STRIPE_', env)).toBe('');
  });

  test('a variable outside the prefix is refused, naming the variable but never a value', () => {
    const env = { HUB_STORE_KEYS: 'k1:c2VjcmV0LXN0b3JlLWtleQ==' };
    expect(() => secretSetting(undefined, 'HUB_STORE_KEYS', 'HUB_STRIPE_', env)).toThrow(/HUB_STRIPE_…, got HUB_STORE_KEYS/);
    expect(() => secretSetting(undefined, 'hub_stripe_lower', 'HUB_STRIPE_', env)).toThrow();
    try {
      secretSetting(undefined, 'HUB_STORE_KEYS', 'HUB_STRIPE_', env);
    } catch (err) {
      expect((err as Error).message).not.toContain('c2VjcmV0');
    }
  });
});
