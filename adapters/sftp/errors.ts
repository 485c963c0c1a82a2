import { IntegrationError } from '../shared/errors';

/**
 * Errors of the SFTP uploader. Messages name the peer (host:port), the
 * phase and the SFTP status; never file contents. The library's own error
 * (which may quote remote paths) is kept as `cause`.
 */

/**
 * The server refused our login, or its host key is not the pinned one.
 * Not retryable: trying again with the same key cannot succeed, and
 * hammering a server with refused logins gets the source address blocked.
 */
export class SftpAuthError extends IntegrationError {
  /** @param reason - `login` (credentials refused) or `host-key` (server identity mismatch) */
  constructor(
    message: string,
    readonly reason: 'login' | 'host-key',
    options?: ErrorOptions,
  ) {
    super(message, 'AUTH', false, options);
  }
}

/** The connection could not be opened or was lost during an operation. Retryable. */
export class SftpConnectionError extends IntegrationError {
  /** @param attempts - how many attempts were made before giving up */
  constructor(
    message: string,
    readonly attempts: number,
    options?: ErrorOptions,
  ) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

/** An operation did not finish in time (half-open connection, stalled server). Retryable. */
export class SftpTimeoutError extends IntegrationError {
  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(message, 'TIMEOUT', true, options);
  }
}

/**
 * The server refused an operation: no such directory, permission denied, or
 * the target file already exists. Not retryable without a change on one side.
 */
export class SftpRemoteError extends IntegrationError {
  constructor(
    message: string,
    readonly reason: 'not-found' | 'permission' | 'exists' | 'failure',
    options?: ErrorOptions,
  ) {
    super(message, 'PROVIDER', false, options);
  }
}

export type SftpError = SftpAuthError | SftpConnectionError | SftpTimeoutError | SftpRemoteError;
