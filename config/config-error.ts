import { IntegrationError } from '../adapters/shared/errors';

/** A bad configuration value: names the key, the value and what is allowed. */
export class ConfigError extends IntegrationError {
  constructor(
    readonly key: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`${key}=${JSON.stringify(value)} is invalid: ${allowed}`, 'CONFIG', false);
  }
}
