import { IntegrationError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';

/**
 * Errors of the ASTM adapters. Messages name frame numbers, counts, record
 * types, test codes and connection ids, never record content: the records
 * carry patient names, ids and results (STYLE.md §5, §8).
 */

/** How far a transmission got when it failed. */
export interface AstmSendProgress {
  /** Frames the receiver acknowledged. */
  framesAccepted: number;
  framesTotal: number;
  /**
   * True when the last frame sent may have reached the receiver although no
   * ACK came back (a reply timeout or a lost connection after a frame was
   * written). Re-sending the message can then duplicate it at the receiver;
   * AstmConnection's duplicate window exists for that case.
   */
  maybeDelivered: boolean;
}

export type AstmSendPhase = 'establish' | 'transfer';

/** No reply within the E1381 §6.5.2 sender timer (15 s): the sender ended the session with EOT. */
export class AstmTimeoutError extends IntegrationError implements AstmSendProgress {
  readonly framesAccepted: number;
  readonly framesTotal: number;
  readonly maybeDelivered: boolean;
  constructor(
    message: string,
    readonly phase: AstmSendPhase,
    progress: AstmSendProgress,
    readonly frameNumber?: number,
  ) {
    super(message, 'TIMEOUT', true);
    this.framesAccepted = progress.framesAccepted;
    this.framesTotal = progress.framesTotal;
    this.maybeDelivered = progress.maybeDelivered;
  }
}

/**
 * The receiver refused: it kept answering ENQ with NAK (busy), or NAKed one
 * frame on every one of the allowed tries (E1381 §6.5.1: six).
 */
export class AstmRejectedError extends IntegrationError implements AstmSendProgress {
  readonly framesAccepted: number;
  readonly framesTotal: number;
  readonly maybeDelivered = false;
  constructor(
    message: string,
    readonly phase: AstmSendPhase,
    readonly attempts: number,
    progress: Omit<AstmSendProgress, 'maybeDelivered'>,
    readonly frameNumber?: number,
  ) {
    super(message, 'NACK', true);
    this.framesAccepted = progress.framesAccepted;
    this.framesTotal = progress.framesTotal;
  }
}

/** The link or connection closed (or was lost) while a transmission was queued or under way. */
export class AstmClosedError extends IntegrationError implements AstmSendProgress {
  readonly framesAccepted: number;
  readonly framesTotal: number;
  readonly maybeDelivered: boolean;
  constructor(message: string, progress: AstmSendProgress = { framesAccepted: 0, framesTotal: 0, maybeDelivered: false }, options?: ErrorOptions) {
    super(message, 'CONNECT_FAILED', true, options);
    this.framesAccepted = progress.framesAccepted;
    this.framesTotal = progress.framesTotal;
    this.maybeDelivered = progress.maybeDelivered;
  }
}

export type AstmFrameErrorKind =
  /** C1 C2 did not match the sum (E1381 §6.3.3): NAKed. */
  | 'checksum'
  /** FN neither the expected one nor the last accepted one (E1381 §6.3.2): NAKed. */
  | 'frame-number'
  /** Larger than the receive cap: NAKed. */
  | 'oversize'
  /** Cut off by STX, ENQ or EOT before its end. */
  | 'truncated'
  /** The message handler rejected the message this frame completed: NAKed so the sender retries. */
  | 'handler'
  /** A frame (or frames) arrived outside a session, without ENQ first: ignored. */
  | 'unexpected';

/** A received frame that was not accepted. Reported, never thrown at a caller. */
export class AstmFrameError extends IntegrationError {
  constructor(
    message: string,
    readonly kind: AstmFrameErrorKind,
    readonly bytes: number,
    readonly frameNumber?: number,
    options?: ErrorOptions,
  ) {
    super(message, 'PARSE', false, options);
  }
}

export type AstmIncompleteReason =
  /** The E1381 §6.5.2 receiver timer (30 s) expired inside a message. */
  | 'timeout'
  /** The connection dropped inside a message. */
  | 'disconnected'
  /** The adapter was closed inside a message. */
  | 'closed'
  /** EOT ended the session before the L record (and the profile requires one). */
  | 'no-terminator'
  /** An H record started a new message before the previous one's L record. */
  | 'new-header'
  /** Records arrived before any H record. */
  | 'no-header'
  /** EOT or a new ENQ arrived after an ETB frame, inside an E1381 message: the sender gave up. */
  | 'aborted'
  /** The message grew past the connection's `maxMessageBytes`; its frames are refused. */
  | 'too-large';

const INCOMPLETE_CODES: Record<AstmIncompleteReason, ErrorCode> = {
  timeout: 'TIMEOUT',
  disconnected: 'CONNECT_FAILED',
  closed: 'CONNECT_FAILED',
  'no-terminator': 'PARSE',
  'new-header': 'PARSE',
  'no-header': 'PARSE',
  aborted: 'NACK',
  'too-large': 'PARSE',
};

/**
 * Received records that never became a complete E1394 message and were
 * discarded (E1381 §6.5.2: the receiver discards an incomplete message). The
 * instrument keeps and re-sends what it did not finish; this error makes
 * the discard visible instead of silent.
 */
export class AstmIncompleteMessageError extends IntegrationError {
  constructor(
    message: string,
    readonly reason: AstmIncompleteReason,
    readonly records: number,
    readonly bytes: number,
  ) {
    super(message, INCOMPLETE_CODES[reason], false);
  }
}

export type AstmParseErrorReason = 'EMPTY' | 'MISSING_HEADER' | 'BAD_DELIMITERS' | 'BAD_RECORD_TYPE' | 'BAD_VALUE';

/** Record text that cannot be parsed or built. */
export class AstmParseError extends IntegrationError {
  constructor(
    message: string,
    readonly reason: AstmParseErrorReason,
    readonly recordIndex?: number,
  ) {
    super(message, 'PARSE', false);
  }
}

/** Text that cannot be framed: it holds an E1381 §6.6 restricted character. */
export class AstmEncodeError extends IntegrationError {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message, 'PARSE', false);
  }
}

/**
 * The message handler rejected. The frame that completed the message was
 * NAKed, so the instrument retransmits it (up to its retry limit). Code and
 * retryability come from the handler's error when it is typed.
 */
export class AstmHandlerError extends IntegrationError {
  constructor(message: string, cause: unknown) {
    const typed = cause instanceof IntegrationError ? cause : undefined;
    super(message, typed?.code ?? 'PROVIDER', typed?.retryable ?? true, { cause });
  }
}

/** Invalid options or mapping tables; raised where they are read, naming the key. */
export class AstmConfigError extends IntegrationError {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message, 'CONFIG', false);
  }
}

/**
 * A result's instrument test code has no entry in the instrument's mapping
 * table. The result is not normalized: guessing a LOINC code would put a
 * wrong analyte into the patient's record. Test codes are instrument
 * configuration, not PHI, so the code is named.
 */
export class AstmUnmappedTestError extends IntegrationError {
  constructor(
    readonly instrumentId: string,
    readonly testCode: string,
  ) {
    super(`test code "${testCode}" of instrument "${instrumentId}" has no mapping`, 'CONFIG', false);
  }
}

/** The instrument reported a unit the mapping table does not list for the test. */
export class AstmUnitMismatchError extends IntegrationError {
  constructor(
    readonly instrumentId: string,
    readonly testCode: string,
    readonly unit: string,
  ) {
    super(`unit "${unit}" is not mapped for test code "${testCode}" of instrument "${instrumentId}"`, 'CONFIG', false);
  }
}

/** A QC result was handed to a builder for patient-bound output (FHIR, ORU). */
export class AstmQcRoutingError extends IntegrationError {
  constructor(readonly testCode: string) {
    super(`QC result for test code "${testCode}" cannot go to a patient-bound output`, 'CONFIG', false);
  }
}
