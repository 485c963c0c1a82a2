import { EventEmitter } from 'node:events';
import { decodeHl7Buffer, parse, type Hl7Message } from '../hl7';
import type { BackoffOptions, MllpClient, MllpClientDeps, MllpClientOptions, MllpClientTlsOptions } from '../mllp';
import { MllpConfigError, SEND_TIMEOUT_MS } from '../mllp';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { readAck, type AckCodeValue, type Hl7AckErrorDetail } from './ack-reader';
import { ConnectionPool, MAX_CONNECTIONS, type PoolState } from './connection-pool';
import { Hl7AckParseError, Hl7NackError, Hl7StaleAckError } from './errors';
import { prepareOutbound, type Hl7Outbound, type PreparedHl7Message } from './prepare';

export interface Hl7SenderOptions {
  host: string;
  port: number;
  tls?: MllpClientTlsOptions;
  /** Parallel connections, 1..32. Default 1, which also keeps strict send order. */
  connections?: number;
  /** Deadline from send() to the ACK, queueing included. Default {@link SEND_TIMEOUT_MS}. */
  ackTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Reconnect backoff (default on); `false` reconnects only when a message needs it. */
  reconnect?: Partial<BackoffOptions> | false;
  /** Whether AE/CE NACKs are retryable. Default false: most receivers answer AE for data errors. */
  aeRetryable?: boolean;
  /** MSH-18 assumed for outbound messages and ACKs without one. Default `UNICODE UTF-8`. */
  defaultCharset?: string;
  /** Rewrite outbound text to CR segment terminators (default true); see PrepareOptions. */
  normalizeLineEndings?: boolean;
  maxFrameBytes?: number;
  closeTimeoutMs?: number;
}

export interface Hl7SenderDeps {
  /** Builds each connection's client; tests may wrap it. */
  createClient?: (options: MllpClientOptions, deps: MllpClientDeps) => MllpClient;
  /** Socket factory handed to every client. */
  connect?: MllpClientDeps['connect'];
  logger?: Logger;
  random?: () => number;
  now?: () => number;
}

export interface Hl7SendOptions {
  /**
   * Ordering key (e.g. the patient ID): messages with the same key are sent
   * one at a time in the order of their send() calls. Without a key, order
   * is only kept with a single connection.
   */
  key?: string;
  /** Overrides `ackTimeoutMs` for this message. */
  timeoutMs?: number;
}

/** An accepted message: MSA-1 was AA or CA and MSA-2 matched. */
export interface Hl7SendResult {
  ackCode: Extract<AckCodeValue, 'AA' | 'CA'>;
  /** The parsed ACK (PHI possible: ERR-8 and MSA-3 may echo data). */
  ack: Hl7Message;
  /** MSH-10 of the message sent (= MSA-2). */
  controlId: string;
  /** MSH-10 of the ACK. */
  ackControlId: string;
  /** ERR segments of an accepting ACK (warnings, informational). */
  errors: Hl7AckErrorDetail[];
  /** The ACK bytes as received, and decoded. */
  response: Buffer;
  responseText: string;
  /** Which pool connection carried it (0-based). */
  connection: number;
  durationMs: number;
}

export interface Hl7SenderEvents {
  state: [state: PoolState];
}

/**
 * Sends HL7 v2 messages over MLLP and checks each acknowledgment:
 * - MSA-2 must equal the MSH-10 just sent; anything else is a stale ACK
 *   (Hl7StaleAckError, retryable) and the connection is reset so that the
 *   next message is not paired with this message's real ACK.
 * - AA/CA resolve; AE/AR/CE/CR reject with Hl7NackError; a response that is
 *   not a readable ACK rejects with Hl7AckParseError (retryable).
 * - Transport failures come from MllpClient: MllpTimeoutError,
 *   MllpConnectError, MllpClosedError, all retryable.
 * Nothing is resent automatically: a retry may deliver a duplicate, and
 * whether that is acceptable is the caller's (the queue's) decision.
 */
export class Hl7Sender extends EventEmitter<Hl7SenderEvents> {
  private readonly pool: ConnectionPool;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly ackTimeoutMs: number;

  /**
   * @param options - peer, TLS, pool size, timeouts, NACK policy
   * @param deps - client and socket factories, logger, randomness, clock
   */
  constructor(
    private readonly options: Hl7SenderOptions,
    deps: Hl7SenderDeps = {},
  ) {
    super();
    const connections = options.connections ?? 1;
    if (!Number.isInteger(connections) || connections < 1 || connections > MAX_CONNECTIONS) {
      throw new MllpConfigError(`connections must be 1-${MAX_CONNECTIONS}, got ${connections}`);
    }
    this.ackTimeoutMs = options.ackTimeoutMs ?? SEND_TIMEOUT_MS;
    if (!Number.isInteger(this.ackTimeoutMs) || this.ackTimeoutMs < 1) {
      throw new MllpConfigError(`ackTimeoutMs must be a positive integer, got ${this.ackTimeoutMs}`);
    }
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    const client: MllpClientOptions = {
      host: options.host,
      port: options.port,
      timeoutMs: this.ackTimeoutMs,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
      ...(options.reconnect !== undefined ? { reconnect: options.reconnect } : {}),
      ...(options.maxFrameBytes !== undefined ? { maxFrameBytes: options.maxFrameBytes } : {}),
      ...(options.closeTimeoutMs !== undefined ? { closeTimeoutMs: options.closeTimeoutMs } : {}),
    };
    const clientDeps: MllpClientDeps = {
      ...(deps.connect ? { connect: deps.connect } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    };
    this.pool = new ConnectionPool(
      { connections, client, resetOn: (err) => err instanceof Hl7StaleAckError },
      { clientDeps, logger: this.logger, now: this.now, ...(deps.createClient ? { createClient: deps.createClient } : {}) },
    );
    this.pool.on('state', (state) => this.emit('state', state));
  }

  /** Connection state of the pool. */
  get state(): PoolState {
    return this.pool.state;
  }

  /** Messages queued or awaiting their ACK. */
  get pending(): number {
    return this.pool.pending;
  }

  /** Open the connections now (otherwise the first send opens them). Idempotent. */
  start(): void {
    this.pool.start();
  }

  /**
   * Check and encode a message without sending it, e.g. to record it before
   * it leaves. Throws the same PARSE errors `send` would.
   *
   * @param message - HL7 text, bytes or a parsed message
   */
  prepare(message: Hl7Outbound): PreparedHl7Message {
    return prepareOutbound(message, {
      ...(this.options.defaultCharset ? { defaultCharset: this.options.defaultCharset } : {}),
      ...(this.options.normalizeLineEndings === false ? { normalizeLineEndings: false } : {}),
    });
  }

  /**
   * Send one message and wait for its acknowledgment.
   *
   * @param message - HL7 text, bytes (sent unchanged) or a parsed message, or the result of {@link prepare}
   * @param opts - ordering key, per-message timeout
   */
  async send(message: Hl7Outbound | PreparedHl7Message, opts: Hl7SendOptions = {}): Promise<Hl7SendResult> {
    const prepared = isPrepared(message) ? message : this.prepare(message);
    const started = this.now();
    const meta = { controlId: prepared.controlId, type: prepared.messageType, bytes: prepared.bytes.length };
    this.logger.debug('hl7 send', meta);
    try {
      const result = await this.pool.submit(prepared.bytes, { key: opts.key, timeoutMs: opts.timeoutMs ?? this.ackTimeoutMs }, (response, connection) =>
        this.interpret(prepared, response, connection, started),
      );
      // Per-message lines at debug: the caller reports each outcome itself.
      this.logger.debug('hl7 acknowledged', { ...meta, ackCode: result.ackCode, connection: result.connection, durationMs: result.durationMs });
      return result;
    } catch (err) {
      const ackCode = err instanceof Hl7NackError ? err.ackCode : undefined;
      this.logger.debug('hl7 send failed', { ...meta, ...summarizeError(err), ackCode });
      throw err;
    }
  }

  /** Close every connection; queued and in-flight sends reject with MllpClosedError. Idempotent. */
  close(): Promise<void> {
    return this.pool.close();
  }

  private interpret(prepared: PreparedHl7Message, response: Buffer, connection: number, started: number): Hl7SendResult {
    const { controlId } = prepared;
    let ack: Hl7Message;
    let responseText: string;
    try {
      responseText = decodeHl7Buffer(response, prepared.charset ? { defaultCharset: prepared.charset } : {});
      ack = parse(responseText, { allowUnterminated: true });
    } catch (err) {
      throw new Hl7AckParseError('UNPARSEABLE', controlId, response, { cause: err });
    }
    const reading = readAck(ack);
    if (!reading.hasMsa) throw new Hl7AckParseError('NO_MSA', controlId, response);
    // Pairing first: even a NACK, if it is for another message, says nothing about this one.
    if (reading.acknowledgedId !== controlId) {
      throw new Hl7StaleAckError(controlId, reading.acknowledgedId ?? '', response);
    }
    const ackCode = reading.ackCode;
    if (!ackCode) throw new Hl7AckParseError('BAD_ACK_CODE', controlId, response);
    if (ackCode === 'AA' || ackCode === 'CA') {
      return {
        ackCode,
        ack,
        controlId,
        ackControlId: reading.ackControlId,
        errors: reading.errors,
        response,
        responseText,
        connection,
        durationMs: Math.max(0, this.now() - started),
      };
    }
    const retryable = ackCode === 'AE' || ackCode === 'CE' ? this.options.aeRetryable === true : false;
    throw new Hl7NackError(ackCode, controlId, reading.errors, retryable, {
      ackControlId: reading.ackControlId,
      userMessages: reading.userMessages,
      ackText: reading.text,
      ack,
      response,
      responseText,
    });
  }
}

function isPrepared(value: unknown): value is PreparedHl7Message {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Buffer.isBuffer(value) &&
    typeof (value as PreparedHl7Message).controlId === 'string' &&
    Buffer.isBuffer((value as PreparedHl7Message).bytes)
  );
}
