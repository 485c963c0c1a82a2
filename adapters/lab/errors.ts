import { IntegrationError } from '../shared/errors';

/**
 * A result the hub cannot put into a chart as it stands. Names the test code
 * (an identifier, not patient data) so an analyst can fix the mapping; the
 * same message fails the same way again, so it is not retryable.
 */
export class LabMappingError extends IntegrationError {
  constructor(
    message: string,
    readonly reason: 'unmapped-test' | 'unmapped-unit' | 'no-specimen',
    readonly testCode?: string,
  ) {
    super(message, 'PARSE', false);
  }
}

/** No Patient in the EMR matches a result's patient identifier (yet): worth retrying later. */
export class PatientNotFoundError extends IntegrationError {
  constructor(readonly count: number) {
    super(`${count} result(s) have no matching patient at the EMR`, 'NOT_FOUND', true);
  }
}
