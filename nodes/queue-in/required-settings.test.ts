import { missingSettings } from './required-settings';

describe('missingSettings', () => {
  const env: Record<string, string> = { HUB_SET: 'https://emr.example/fhir', HUB_BLANK: '  ' };
  const lookup = (name: string): unknown => env[name];

  test('names are looked up; unset and blank ones are missing', () => {
    expect(missingSettings('HUB_SET, HUB_UNSET HUB_BLANK', lookup)).toEqual(['HUB_UNSET', 'HUB_BLANK']);
  });

  test('nothing required: nothing missing', () => {
    expect(missingSettings('', lookup)).toEqual([]);
    expect(missingSettings(undefined, lookup)).toEqual([]);
  });

  test('a ${NAME} Node-RED left in place is missing; a value Node-RED put in counts as set and is never reported', () => {
    expect(missingSettings('${HUB_EMR_FHIR_URL}', lookup)).toEqual(['HUB_EMR_FHIR_URL']);
    expect(missingSettings('https://emr.example/fhir sk_test_abc123', lookup)).toEqual([]);
  });
});
