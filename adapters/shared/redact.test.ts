import { runInNewContext } from 'node:vm';
import { summarizeError } from './redact';

const CANARY = 'CANARY-MRN-REDACT-0001';

describe('summarizeError', () => {
  test('gives the class and code of an error, never its message', () => {
    const err = Object.assign(new TypeError(`bad value for ${CANARY}`), { code: 'E_BAD' });
    expect(summarizeError(err)).toEqual({ error: 'TypeError', code: 'E_BAD' });
  });

  test('an error from another realm (what a function node throws) is still named by its class', () => {
    const err: unknown = runInNewContext(`new RangeError('out of range for ${CANARY}')`);
    expect(err instanceof Error).toBe(false);
    expect(summarizeError(err)).toEqual({ error: 'RangeError', code: undefined });
  });

  test('anything else is named by its type only', () => {
    expect(summarizeError(`failed for ${CANARY}`)).toEqual({ error: 'string' });
    expect(summarizeError({ message: CANARY })).toEqual({ error: 'object' });
  });
});
