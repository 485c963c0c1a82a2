import { IntegrationError } from '../shared/errors';

export class StoreError extends IntegrationError {
  constructor(message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, 'STORE', retryable, options);
  }
}
