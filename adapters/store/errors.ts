import { IntegrationError } from '../shared/errors';

export class StoreError extends IntegrationError {
  constructor(message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, 'STORE', retryable, options);
  }
}

/** No message with that id: a caller bug or a pruned record, never worth a retry. */
export class MessageNotFoundError extends IntegrationError {
  constructor(id: string) {
    super(`no stored message ${id}`, 'NOT_FOUND', false);
  }
}
