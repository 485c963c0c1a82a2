import { IntegrationError } from '../shared/errors';

/**
 * Errors raised by the MLLP transport. None of them carries payload bytes:
 * messages name connection ids, peers, byte counts and phases only, because
 * the payload is an HL7 message and therefore PHI (STYLE.md §5, §8).
 */

/** Why a stretch of the inbound byte stream was not delivered as a frame. */
export type MllpFrameErrorKind =
  /** Bytes outside any frame (before a start block). */
  | 'garbage'
  /** A frame grew past `maxFrameBytes`; its bytes were discarded. */
  | 'oversize'
  /** A start block arrived inside a frame, or the stream ended inside one. */
  | 'truncated'
  /** An end block (FS) was not followed by CR. The frame itself was delivered. */
  | 'missing-cr';

/** A framing problem on the wire, or a payload that cannot be framed. */
export class MllpFrameError extends IntegrationError {
  /**
   * @param kind - which rule of MLLP release 2 framing was broken
   * @param bytes - how many bytes were affected (discarded, or the frame size)
   */
  constructor(
    message: string,
    readonly kind: MllpFrameErrorKind | 'invalid-payload',
    readonly bytes: number,
    options?: ErrorOptions,
  ) {
    super(message, 'PARSE', false, options);
  }
}

/**
 * No response arrived before the send's deadline. Retryable, but `written`
 * says whether the frame reached the socket: if it did, the peer may already
 * have processed it, so a retry can deliver a duplicate (HL7 receivers dedupe
 * on MSH-10).
 */
export class MllpTimeoutError extends IntegrationError {
  /**
   * @param timeoutMs - the deadline that passed
   * @param written - true when the frame had been written before the deadline
   */
  constructor(
    message: string,
    readonly timeoutMs: number,
    readonly written: boolean,
    options?: ErrorOptions,
  ) {
    super(message, 'TIMEOUT', true, options);
  }
}

/**
 * The connection could not be opened, or was lost while a send was pending.
 * `written` has the same meaning as on {@link MllpTimeoutError}.
 */
export class MllpConnectError extends IntegrationError {
  constructor(
    message: string,
    readonly written: boolean,
    options?: ErrorOptions,
  ) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

/**
 * The client was closed while the send was pending. Retryable: the message
 * itself is fine, a redeploy or shutdown interrupted it, and a durable queue
 * should deliver it again later rather than dead-letter it.
 */
export class MllpClosedError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

export type MllpRejectReason = 'peer-not-allowed' | 'max-connections' | 'tls-handshake';

/**
 * A connection was refused: by policy, or because its TLS handshake failed
 * (no or untrusted client certificate, protocol mismatch). Those are AUTH
 * problems; a full listener is RATE_LIMITED and worth retrying later.
 */
export class MllpPeerRejectedError extends IntegrationError {
  constructor(
    message: string,
    readonly reason: MllpRejectReason,
    readonly remoteAddress: string,
    options?: ErrorOptions,
  ) {
    const limited = reason === 'max-connections';
    super(message, limited ? 'RATE_LIMITED' : 'AUTH', limited, options);
  }
}

/** The listener could not bind (address in use, permission). Retryable: the port may free up. */
export class MllpListenError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

/**
 * The frame handler of an inbound connection rejected. The transport cannot
 * build an HL7 NAK itself, so it closes the connection (see MllpServer). Code
 * and retryability are taken from the handler's error when it is typed.
 */
export class MllpHandlerError extends IntegrationError {
  constructor(
    message: string,
    readonly connectionId: number,
    cause: unknown,
  ) {
    const typed = cause instanceof IntegrationError ? cause : undefined;
    super(message, typed?.code ?? 'PROVIDER', typed?.retryable ?? false, { cause });
  }
}

/** Invalid adapter options; raised from constructors, never at runtime. */
export class MllpConfigError extends IntegrationError {
  constructor(message: string) {
    super(message, 'CONFIG', false);
  }
}
