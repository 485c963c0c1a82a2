import type { AckCode, AckError, Hl7Message } from '../hl7';
import type { HubMetrics } from '../shared/hub-metrics';
import type { Logger } from '../shared/logger';
import type { MessageStore } from '../store/types';

/**
 * When an original-mode sender gets its AA:
 * - `after-commit`: as soon as the message is durably in the store (default);
 * - `after-processing`: when the flow has completed the message (AE on a flow error or timeout);
 * - `manual`: when the flow answers through an hl7-ack node (AE on timeout).
 */
export type AckMode = 'after-commit' | 'after-processing' | 'manual';
export const ACK_MODES: readonly AckMode[] = ['after-commit', 'after-processing', 'manual'];

/** Default time a flow has to complete (or answer) a message; keep it below the sender's ACK timeout (often 30 s). */
export const PROCESSING_TIMEOUT_MS = 15_000;
/** Bound on the in-memory duplicate index, whatever the window and rate. */
export const DUPLICATE_INDEX_MAX = 100_000;
/** How long close() waits for status updates still in flight. */
export const INTAKE_CLOSE_TIMEOUT_MS = 5000;

/** The connection a payload came from (the MLLP server's context; structurally the same). */
export interface IntakeConnection {
  connectionId: number;
  remoteAddress: string;
  remotePort: number;
}

export type TimerHandle = unknown;

/** Time and timers, injectable so tests can drive timeouts and windows. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface Hl7IntakeOptions {
  /** Logical endpoint recorded on every stored message, e.g. `hl7-intake`. */
  endpoint: string;
  /** Default `after-commit`. */
  ackMode?: AckMode;
  /** Default {@link PROCESSING_TIMEOUT_MS}. */
  processingTimeoutMs?: number;
  /** Same sender + control id + content within this many ms is answered without reprocessing. 0 (default) turns it off. */
  duplicateWindowMs?: number;
  /** MSH-18 assumed when a message names none. Default `UNICODE UTF-8`. */
  defaultCharset?: string;
  /** Honour MSH-15/16 (enhanced acknowledgment). Default true; false answers every message in original mode. */
  enhancedAcks?: boolean;
  /** Recorded as the stored messages' flow and node (the listener's). */
  flowId?: string | null;
  nodeId?: string | null;
  /** Default {@link INTAKE_CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
}

export interface Hl7IntakeDeps {
  store: MessageStore;
  clock?: Clock;
  logger?: Logger;
  /** Message counts and ACK/processing latency for /metrics, under the intake's endpoint; default: none. */
  metrics?: HubMetrics;
}

/** Header facts of an accepted message. Identifiers only, never PHI (no patient id). */
export interface IntakeInfo {
  /** MSH-9.1^MSH-9.2, e.g. `ORU^R01`. */
  messageType: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-3.1^MSH-4.1 (`^facility` left off when MSH-4 is empty). */
  sender: string;
  /** MSH-5.1^MSH-6.1. */
  receiver: string;
  version: string;
  processingId: string;
  /** MSH-15 / MSH-16 as sent (table 0155), when present. */
  acceptAckType?: string;
  applicationAckType?: string;
  /** Size of the payload as received. */
  bytes: number;
}

/**
 * How this message's acknowledgment is decided:
 * - `sent`: already answered (after-commit, or an enhanced-mode commit ACK);
 * - `none`: enhanced mode and MSH-15 asked for no commit ACK on success;
 * - `on-completion`: answered when every consumer completes it (after-processing);
 * - `manual`: answered by `respond()` (manual mode).
 */
export type DeliveryAck = 'sent' | 'none' | 'on-completion' | 'manual';

/** What a consumer reports when it is done with a message. */
export interface CompletionResult {
  /** Present when processing failed; only its class and code are recorded, never its text. */
  error?: unknown;
  /** Where it failed (a Node-RED node id), for the stored error text. */
  nodeId?: string;
}

export type RespondOutcome =
  /** The answer was handed to the connection. */
  | 'sent'
  /** Nothing awaits an answer from the flow: the ACK went out at commit or MSH-15 asked for none. */
  | 'not-awaited'
  /** The message was answered before (timeout, another respond, shutdown). */
  | 'already-answered'
  /** No message with that id is in flight here (settled, from another deploy, or never seen). */
  | 'unknown';

/** One accepted message, handed to every consumer registered with onMessage(). */
export interface IntakeDelivery {
  /** Hub message id of the stored record. */
  id: string;
  /** The payload decoded per MSH-18. */
  raw: string;
  message: Hl7Message;
  info: IntakeInfo;
  connection: IntakeConnection;
  /** Set for messages that arrived inside an FHS/BHS batch: the batch's record and this message's place in it. */
  batch?: { id: string; index: number; count: number };
  ack: DeliveryAck;
  /** One-shot per consumer: the consumer has finished with the message. */
  complete(result?: CompletionResult): void;
  /** Manual mode: answer the sender. Other modes answer `not-awaited`. */
  respond(code: AckCode, errors?: readonly AckError[]): RespondOutcome;
  /** Resolves once the intake no longer tracks the message (completed, timed out or closed). */
  settled: Promise<void>;
}

export type IntakeConsumer = (delivery: IntakeDelivery) => void;
