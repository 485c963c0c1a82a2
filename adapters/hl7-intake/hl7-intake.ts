import { createHash } from 'node:crypto';
import {
  decodeHl7Buffer,
  encodeHl7Buffer,
  Hl7ParseError,
  isBatch,
  parse,
  parseBatch,
  segmentGet,
  serialize,
} from '../hl7';
import type { AckCode, AckError, Hl7Batch, Hl7Message, Hl7ParseOptions } from '../hl7';
import { errorCode } from '../shared/errors';
import { noopMetrics } from '../shared/hub-metrics';
import type { HubMetrics, MessageOutcome } from '../shared/hub-metrics';
import type { Logger, LogMeta } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { RecoveryPasses, releaseMidFlow, scanLeftovers, takeReleased, UNREADABLE_TEXT } from '../shared/recovery-passes';
import { newMessageId } from '../store/message-id';
import type { MessageRecord, MessageStore, NewMessage, StatusPatch } from '../store/types';
import { AckWriter } from './ack-writer';
import { DuplicateIndex } from './duplicate-index';
import type { DuplicateClaim, DuplicateTicket } from './duplicate-index';
import { Hl7IntakeConfigError } from './errors';
import { realClock } from '../shared/real-clock';
import { commitAckWanted, party, readHeader, salvageHeader } from './header';
import {
  ACK_MODES,
  INTAKE_CLOSE_TIMEOUT_MS,
  PROCESSING_TIMEOUT_MS,
} from './types';
import type {
  AckMode,
  Clock,
  CompletionResult,
  DeliveryAck,
  Hl7IntakeDeps,
  Hl7IntakeOptions,
  IntakeConnection,
  IntakeConsumer,
  IntakeDelivery,
  IntakeInfo,
  RespondOutcome,
  TimerHandle,
} from './types';

const CONTENT_TYPE = 'application/hl7-v2';
/**
 * Strict: a lost segment terminator or a second MSH would otherwise hide
 * clinical content inside another segment. A doubled escape character in
 * MSH-2 hides nothing and is read unambiguously, so it is accepted.
 */
const STRICT: Hl7ParseOptions = { strict: true, tolerate: ['DOUBLED_ESCAPE_CHAR'] };
const MESSAGE_TYPE_LABEL = /^[A-Z0-9]{3}\^[A-Z0-9]{3}$/;
const SHUTDOWN_TEXT = 'the listener closed before the message was answered';

/** The answer decided for one message, before it is given its original or enhanced form. */
interface Decision {
  code: AckCode;
  errors: AckError[];
}

/** A message handed to the consumers and not yet settled. */
interface InFlight {
  id: string;
  info: IntakeInfo;
  connection: IntakeConnection;
  /** How the answer is decided, as told to the consumers. */
  ack: DeliveryAck;
  /** The answer still outstanding; `null` once it is given. */
  awaiting: 'on-completion' | 'manual' | null;
  answer: (decision: Decision) => void;
  /** Consumers that have not completed yet. */
  remaining: number;
  statusSettled: boolean;
  /** When it was handed to the consumers, for the processing-time metric. */
  dispatchedAt: number;
  ticket: DuplicateTicket;
  timer: TimerHandle | undefined;
  release: () => void;
}

/** One message of a payload, ready to be stored and dispatched. */
interface Unit {
  message: Hl7Message;
  text: string;
  body: Buffer;
  info: IntakeInfo;
  patientId: string | null;
  enhanced: boolean;
}

/** Most records one recovery sends on, oldest first; the rest wait for the next start. */
const MAX_RECOVERED = 10_000;
const INTERRUPTED_TEXT = 'the hub stopped before the flow finished this message, and its sender had not been answered AA';


/**
 * Inbound HL7 v2 intake: turns each MLLP payload into a stored record, a
 * delivery to the flow and the acknowledgment the sender is owed. Use
 * `handle` as the MllpServer frame handler.
 *
 * Guarantees:
 * - Nothing is acknowledged positively before it is durably stored. When the
 *   store fails the answer is AE (ERR 207), never AA, so the sender retries.
 * - Every payload leaves a record: accepted messages (`processing`, then
 *   `sent` or `error`), unparseable input (`error`, code PARSE, the bytes as
 *   received), duplicates (`filtered`, code DUPLICATE, parentId = original).
 * - The stored body is the payload exactly as received.
 * - `handle` never rejects: a rejection would make the transport drop the
 *   connection without an answer.
 *
 * Logs carry message type, control id, peer, sizes and codes only.
 */
export class Hl7Intake {
  private readonly store: MessageStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: HubMetrics;
  private readonly acks: AckWriter;
  private readonly duplicates: DuplicateIndex;
  private readonly consumers = new Set<IntakeConsumer>();
  private readonly inFlight = new Map<string, InFlight>();
  private readonly writes = new Set<Promise<void>>();
  private readonly ackMode: AckMode;
  private readonly timeoutMs: number;
  private closing: Promise<void> | undefined;
  private readonly recovery: RecoveryPasses<{ redelivered: number; interrupted: number }>;

  /**
   * @param options - see {@link Hl7IntakeOptions}
   * @param deps - store, clock, logger, metrics
   */
  constructor(
    private readonly options: Hl7IntakeOptions,
    deps: Hl7IntakeDeps,
  ) {
    validate(options);
    this.store = deps.store;
    this.clock = deps.clock ?? realClock;
    this.logger = deps.logger ?? silentLogger;
    this.metrics = deps.metrics ?? noopMetrics;
    this.ackMode = options.ackMode ?? 'after-commit';
    this.timeoutMs = options.processingTimeoutMs ?? PROCESSING_TIMEOUT_MS;
    this.recovery = new RecoveryPasses(() => this.recoveryPass(), this.clock, (err: unknown) =>
      this.logger.warn('hl7 intake recovery failed', { endpoint: options.endpoint, ...summarizeError(err) }),
    );
    this.acks = new AckWriter({ defaultCharset: options.defaultCharset, now: () => this.clock.now() });
    this.duplicates = new DuplicateIndex(options.duplicateWindowMs ?? 0, () => this.clock.now());
  }

  /** Messages delivered and not yet settled. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /**
   * Register a consumer. Every accepted message goes to every consumer, and
   * counts as completed once each has called `complete()`.
   *
   * @param consumer - called synchronously, in arrival order per connection
   * @returns a function that removes the consumer
   */
  onMessage(consumer: IntakeConsumer): () => void {
    this.consumers.add(consumer);
    return () => {
      this.consumers.delete(consumer);
    };
  }

  /**
   * The MLLP frame handler: store, deliver, answer. Resolves with the
   * encoded response, or undefined when the sender asked for none (MSH-15).
   *
   * @param payload - one MLLP payload (a message or a batch file)
   * @param connection - where it came from
   */
  readonly handle = async (payload: Buffer, connection: IntakeConnection): Promise<Buffer | undefined> => {
    const started = this.clock.now();
    const response = await this.answer(payload, connection);
    if (response) this.metrics.ackLatency(this.options.endpoint, Math.max(0, this.clock.now() - started) / 1000);
    return response;
  };

  private async answer(payload: Buffer, connection: IntakeConnection): Promise<Buffer | undefined> {
    try {
      if (this.closing) return this.internalError(payload, connection, 'closing');
      let text: string;
      try {
        text = decodeHl7Buffer(payload, { defaultCharset: this.options.defaultCharset });
      } catch (err) {
        return await this.rejectInput(payload, undefined, err, connection);
      }
      if (isBatch(text)) {
        let batch: Hl7Batch;
        try {
          batch = parseBatch(text, STRICT);
        } catch (err) {
          return await this.rejectInput(payload, text, err, connection);
        }
        return await this.acceptBatch(payload, batch, connection);
      }
      let message: Hl7Message;
      try {
        // Strict: a lost segment terminator or a second MSH would otherwise hide
        // clinical content inside another segment, and a missing final CR is how
        // a cut-off message looks.
        message = parse(text, STRICT);
      } catch (err) {
        return await this.rejectInput(payload, text, err, connection);
      }
      return await this.acceptSingle(this.unit(message, text, payload), connection);
    } catch (err) {
      this.logger.error('hl7 intake internal error', { ...this.peer(connection), bytes: payload.length, ...summarizeError(err) });
      return this.internalError(payload, connection, 'internal');
    }
  }

  /**
   * Manual mode: answer the sender of a message still in flight.
   *
   * @param id - hub message id (IntakeDelivery.id)
   * @param code - AA, AE or AR
   * @param errors - ERR segments; AE/AR without any get one 207 entry
   */
  respond(id: string, code: AckCode, errors: readonly AckError[] = []): RespondOutcome {
    const entry = this.inFlight.get(id);
    if (!entry) return 'unknown';
    if (entry.ack !== 'manual') return 'not-awaited';
    if (entry.awaiting === null) return 'already-answered';
    const list = code === 'AA' || errors.length > 0 ? [...errors] : [{ code: 207 as const, text: 'rejected by the receiving flow' }];
    if (code === 'AA') {
      this.decide(entry, { code, errors: list });
    } else {
      const write = this.settleStatus(entry, { status: 'error', errorCode: 'NACK', errorText: `answered ${code} by the flow` }, true);
      this.decide(entry, { code, errors: list }, write);
    }
    return 'sent';
  }

  /**
   * Run a stored message through the flow again (an operator's reprocess,
   * after the flow was fixed): the record goes back to `processing` (one
   * attempt more), its consumers get it as a new delivery with nothing owed
   * to the sender (`ack: 'sent'`; its answer went out long ago), and its
   * completion settles the same record as `sent` or `error`, like the first
   * time. Resolves once delivered, not once processed.
   * @param record - an inbound record of this intake with its body as received
   * @throws Hl7IntakeConfigError when the record is not this intake's single message, or no consumer is receiving
   * @throws the parse error when the stored bytes are not a message the intake accepts
   */
  async reprocess(record: MessageRecord & { body: Buffer }): Promise<void> {
    if (this.closing) throw new Hl7IntakeConfigError('the listener is closing');
    if (record.direction !== 'inbound' || record.endpoint !== this.options.endpoint || record.messageType === 'BATCH') {
      throw new Hl7IntakeConfigError('only a single inbound message of this listener can be reprocessed');
    }
    if (this.inFlight.has(record.id)) throw new Hl7IntakeConfigError('the message is still being processed');
    if (this.consumers.size === 0) throw new Hl7IntakeConfigError('no mllp-in node is receiving from this listener');
    await this.redeliver(record, this.storedUnit(record.body));
  }

  /** A stored single message, parsed as the intake parsed it on receipt. */
  private storedUnit(body: Buffer): Unit {
    const text = decodeHl7Buffer(body, { defaultCharset: this.options.defaultCharset });
    return this.unit(parse(text, STRICT), text, body);
  }

  /** Back to `processing` (one attempt more) and to the consumers, with nothing owed to the sender. */
  private async redeliver(record: MessageRecord, unit: Unit): Promise<void> {
    await this.store.update(record.id, { status: 'processing', errorCode: null, errorText: null, incrementAttempts: true });
    this.logger.info('hl7 intake reprocessing a stored message', { endpoint: this.options.endpoint, id: record.id, type: unit.info.messageType, controlId: unit.info.controlId });
    void this.dispatch(record.id, unit, REPROCESS_CONNECTION, NO_TICKET, undefined, true);
  }

  /**
   * Messages this listener accepted and a previous run never saw through
   * the flow are still `processing`: the process crashed, or a redeploy
   * stopped the flow with them inside. Mirth's recovery task on channel
   * start is the model. Each one whose sender was answered at commit (after
   * commit mode, or an enhanced-mode commit ACK) goes through the flow again
   * as a reprocess (attempts + 1, nothing owed to the sender); the others are
   * marked `error` INTERRUPTED, since their sender, never answered AA, has
   * resent them. Records count when untouched for the processing timeout (a
   * live hub process sharing the store times its own out before that), or at
   * once when this process released them at close; those touched too
   * recently get another pass once old enough (a restart soon after a crash).
   * Passes run one after another, never side by side.
   * @returns how many went through the flow again, and how many were marked INTERRUPTED
   */
  recoverInterrupted(): Promise<{ redelivered: number; interrupted: number }> {
    return this.recovery.run();
  }

  /**
   * One pass of recoverInterrupted. Leftovers touched too recently to take
   * (a restart within the processing timeout of a crash) get another pass
   * once the oldest of them is old enough, without waiting for another start.
   */
  private async recoveryPass(): Promise<{ redelivered: number; interrupted: number }> {
    // Without a receiver they would only fail again: they wait for the next start.
    if (this.closing || this.consumers.size === 0) return { redelivered: 0, interrupted: 0 };
    const released = takeReleased(this.options.endpoint);
    const { ids, recheckAt } = await scanLeftovers(this.store, {
      endpoint: this.options.endpoint,
      timeoutMs: this.timeoutMs,
      now: this.clock.now(),
      released,
      skip: (r) => r.messageType === 'BATCH' || this.inFlight.has(r.id),
    });
    if (recheckAt !== null) this.recovery.later(recheckAt - this.clock.now());
    let redelivered = 0;
    let interrupted = 0;
    // Oldest first: the flow gets an A08 after its A01.
    for (const id of ids.slice(0, MAX_RECOVERED)) {
      if (this.closing) break;
      const record = await this.store.get(id, { includeBody: true });
      // An operator's reprocess may have taken it meanwhile.
      if (!record?.body || record.status !== 'processing' || this.inFlight.has(id)) continue;
      let unit: Unit | undefined;
      try {
        unit = this.storedUnit(record.body);
      } catch (err) {
        this.logger.warn('hl7 intake could not recover a message', { endpoint: this.options.endpoint, id, ...summarizeError(err) });
      }
      // A store failure while redelivering fails the pass and leaves the record for the next one.
      if (unit && (this.ackMode === 'after-commit' || unit.enhanced)) {
        await this.redeliver(record, unit);
        redelivered++;
        continue;
      }
      await this.store.update(id, { status: 'error', errorCode: 'INTERRUPTED', errorText: unit ? INTERRUPTED_TEXT : UNREADABLE_TEXT });
      interrupted++;
    }
    if (redelivered + interrupted > 0) this.logger.warn('hl7 intake recovered messages a previous run left unfinished', { endpoint: this.options.endpoint, redelivered, interrupted });
    return { redelivered, interrupted };
  }

  /**
   * Stop taking messages: payloads still arriving get AE (ERR 207), answers
   * still outstanding become AE, and pending status writes are awaited for
   * at most `closeTimeoutMs`. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.recovery.stop();
    this.duplicates.rejectAll();
    let unanswered = 0;
    const released: string[] = [];
    for (const entry of [...this.inFlight.values()]) {
      if (entry.awaiting !== null) {
        unanswered++;
        const write = this.settleStatus(entry, { status: 'error', errorCode: 'SHUTDOWN', errorText: SHUTDOWN_TEXT }, true);
        this.decide(entry, { code: 'AE', errors: [{ code: 207, text: 'receiver shutting down; resend later' }] }, write);
      } else if (!entry.statusSettled) {
        // Answered at commit and still in the flow: the next start of this endpoint sends it through again.
        released.push(entry.id);
      }
      this.release(entry);
    }
    // This process's next intake of the endpoint (a redeploy) recovers them at once, not after the processing timeout.
    releaseMidFlow(this.options.endpoint, released);
    if (unanswered > 0) this.logger.warn('hl7 intake closing; answered pending messages AE', { endpoint: this.options.endpoint, count: unanswered });
    await this.drainWrites(this.options.closeTimeoutMs ?? INTAKE_CLOSE_TIMEOUT_MS);
  }

  /** Resolves when every status write started so far has finished (or after `timeoutMs`). */
  private async drainWrites(timeoutMs: number): Promise<void> {
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = this.clock.setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.writes]), timedOut]);
    this.clock.clearTimeout(timer);
  }

  // ---------------------------------------------------------------- accept

  private unit(message: Hl7Message, text: string, body: Buffer): Unit {
    const { info, patientId } = readHeader(message, body.length);
    const enhanced = this.options.enhancedAcks !== false && info.acceptAckType !== undefined;
    return { message, text, body, info, patientId, enhanced };
  }

  private async acceptSingle(unit: Unit, connection: IntakeConnection): Promise<Buffer | undefined> {
    const claiming = this.claim(unit);
    // Only a retransmission of a message still waiting for its answer waits here.
    const claim = claiming instanceof Promise ? await claiming : claiming;
    if ('duplicateOf' in claim) return this.answerDuplicate(unit, claim.duplicateOf, connection);
    const { ticket } = claim;
    if (this.consumers.size === 0) {
      ticket.reject();
      return this.noConsumer(unit, connection);
    }
    let record: MessageRecord;
    try {
      record = await this.store.insert(this.newRecord(unit, { status: 'processing' }));
    } catch (err) {
      ticket.reject();
      this.count('errored', unit.info.messageType);
      this.logger.error('hl7 intake could not store message; answering AE', this.meta(unit, connection, { ack: 'AE', ...summarizeError(err) }));
      return this.encodeFor(unit, { code: 'AE', errors: [storeError()] });
    }
    this.count('received', unit.info.messageType);
    ticket.bind(record.id);
    const decision = await this.dispatch(record.id, unit, connection, ticket);
    const response = this.encodeFor(unit, decision);
    this.logger.info('hl7 intake answered', this.meta(unit, connection, { id: record.id, ack: this.ackLabel(unit, decision, response) }));
    return response;
  }

  /**
   * Batches (FHS/BHS): the file is stored as received as one record (type
   * `BATCH`, status `sent` once its messages are stored), and every message in
   * it as its own record with parentId = the batch record, so each one is
   * searchable, routed and acknowledged on its own. The answer is a batch of
   * ACKs in the received batch's structure, sent once every message has its answer.
   */
  private async acceptBatch(payload: Buffer, batch: Hl7Batch, connection: IntakeConnection): Promise<Buffer | undefined> {
    const units = batch.batches.flatMap((group) =>
      group.messages.map((message) => {
        const text = serialize(message);
        return this.unit(message, text, encodeHl7Buffer(text, { defaultCharset: this.options.defaultCharset }));
      }),
    );
    const claims: DuplicateClaim[] = [];
    for (const unit of units) claims.push(await this.claim(unit));
    const tickets = claims.flatMap((c) => ('ticket' in c ? [c.ticket] : []));
    const head = batch.batches[0]?.header ?? batch.fileHeader;
    const headCtx = { delimiters: batch.batches[0]?.header ? batch.batches[0].delimiters : batch.delimiters };
    const batchId = newMessageId(this.clock.now());
    const envelope: NewMessage = {
      ...this.recordBase(),
      id: batchId,
      controlId: (head && segmentGet(headCtx, head, '11')) || null,
      messageType: 'BATCH',
      sender: head ? party(segmentGet(headCtx, head, '3.1'), segmentGet(headCtx, head, '4.1')) || null : null,
      receiver: head ? party(segmentGet(headCtx, head, '5.1'), segmentGet(headCtx, head, '6.1')) || null : null,
      status: 'sent',
      body: payload,
    };
    const batchMeta = { endpoint: this.options.endpoint, ...this.peer(connection), bytes: payload.length, messages: units.length, id: batchId };
    if (this.consumers.size === 0 && tickets.length > 0) {
      for (const t of tickets) t.reject();
      envelope.status = 'error';
      envelope.errorCode = 'NO_CONSUMER';
      envelope.errorText = 'no mllp-in node was receiving from this listener';
      await this.store.insert(envelope).catch(() => undefined);
      for (const unit of units) this.count('errored', unit.info.messageType);
      this.logger.warn('hl7 intake has no consumer; answering AE', batchMeta);
      return this.batchResponse(batch, units, units.map(() => ({ code: 'AE', errors: [{ code: 207, text: 'no receiver is active' }] })));
    }
    const records = await Promise.allSettled([
      this.store.insert(envelope),
      ...units.map((unit, i) => {
        const claim = claims[i]!;
        return this.store.insert(
          'duplicateOf' in claim
            ? this.duplicateRecord(unit, claim.duplicateOf)
            : this.newRecord(unit, { status: 'processing', parentId: batchId }),
        );
      }),
    ]);
    const failed = records.find((r) => r.status === 'rejected');
    if (failed) {
      for (const t of tickets) t.reject();
      // The sender resends the whole batch; records that did make it are marked so they are not mistaken for live ones.
      for (const r of records) if (r.status === 'fulfilled') this.track(this.store.update(r.value.id, { status: 'error', errorCode: 'STORE', errorText: 'batch only partly stored; answered AE' }));
      for (const unit of units) this.count('errored', unit.info.messageType);
      this.logger.error('hl7 intake could not store batch; answering AE', { ...batchMeta, ...summarizeError((failed as PromiseRejectedResult).reason) });
      return this.batchResponse(batch, units, units.map(() => ({ code: 'AE', errors: [storeError()] })));
    }
    const decisions: Promise<Decision>[] = units.map((unit, i) => {
      const claim = claims[i]!;
      const record = (records[i + 1] as PromiseFulfilledResult<MessageRecord>).value;
      this.count('received', unit.info.messageType);
      if ('duplicateOf' in claim) {
        this.count('filtered', unit.info.messageType);
        this.logger.info('hl7 intake duplicate in batch; answering without reprocessing', this.meta(unit, connection, { id: record.id }));
        return Promise.resolve({ code: 'AA', errors: [] });
      }
      claim.ticket.bind(record.id);
      return this.dispatch(record.id, unit, connection, claim.ticket, { id: batchId, index: i, count: units.length });
    });
    const response = this.batchResponse(batch, units, await Promise.all(decisions));
    this.logger.info('hl7 intake answered batch', { ...batchMeta, bytesOut: response?.length ?? 0 });
    return response;
  }

  private batchResponse(batch: Hl7Batch, units: Unit[], decisions: Decision[]): Buffer {
    let k = 0;
    const acks = batch.batches.map((group) =>
      group.messages.map(() => {
        const i = k++;
        return this.ackFor(units[i]!, decisions[i]!);
      }),
    );
    return this.acks.encode(this.acks.batch(batch, acks));
  }

  /**
   * Hand a stored message to the consumers and decide its answer per ack mode.
   * Enhanced-mode messages get their commit ACK now, whatever the mode: the
   * commit ACK only says the message is safely stored.
   */
  private dispatch(
    id: string,
    unit: Unit,
    connection: IntakeConnection,
    ticket: DuplicateTicket,
    batch?: IntakeDelivery['batch'],
    /** A reprocess: the sender was answered long ago, whatever the ack mode. */
    reprocess = false,
  ): Promise<Decision> {
    if (this.closing) {
      // Stored while the listener was closing: nobody will process it now, so the sender must resend it later.
      ticket.reject();
      this.count('errored', unit.info.messageType);
      this.track(this.store.update(id, { status: 'error', errorCode: 'SHUTDOWN', errorText: SHUTDOWN_TEXT }));
      return Promise.resolve({ code: 'AE', errors: [{ code: 207, text: 'receiver shutting down; resend later' }] });
    }
    const awaiting = reprocess || unit.enhanced || this.ackMode === 'after-commit' ? null : this.ackMode === 'after-processing' ? 'on-completion' : 'manual';
    let answer!: (d: Decision) => void;
    const answered = new Promise<Decision>((resolve) => (answer = resolve));
    let release!: () => void;
    const settled = new Promise<void>((resolve) => (release = resolve));
    const ack: DeliveryAck =
      awaiting ?? (!reprocess && unit.enhanced && !commitAckWanted(unit.info.acceptAckType ?? '', true) ? 'none' : 'sent');
    const entry: InFlight = {
      id,
      info: unit.info,
      connection,
      ack,
      awaiting,
      answer,
      remaining: this.consumers.size,
      statusSettled: false,
      dispatchedAt: this.clock.now(),
      ticket,
      timer: undefined,
      release,
    };
    this.inFlight.set(id, entry);
    entry.timer = this.clock.setTimeout(() => this.onTimeout(entry), this.timeoutMs);
    if (awaiting === null) {
      // After commit (or the enhanced commit ACK): the answer is AA now.
      ticket.accept();
      answer({ code: 'AA', errors: [] });
      if (!reprocess) {
        // The ACK is written first and the flow gets the message in the next
        // turn of the event loop. Delivered first, every sender whose commit
        // returned together waited for all of their deliveries before the first
        // ACK went out (traced on bench:mllp: 200-440 µs for 8 senders), and
        // the senders then sent in lockstep. The record is already durable,
        // so a stop in between leaves it to recovery like any message mid-flow.
        setImmediate(() => this.deliver(entry, unit, connection, settled, batch));
        return answered;
      }
    }
    this.deliver(entry, unit, connection, settled, batch);
    return answered;
  }

  private deliver(entry: InFlight, unit: Unit, connection: IntakeConnection, settled: Promise<void>, batch?: IntakeDelivery['batch']): void {
    // Released meanwhile (the intake closed and left it to the next start's recovery).
    if (this.inFlight.get(entry.id) !== entry) return;
    const consumers = [...this.consumers];
    if (consumers.length === 0) {
      // The mllp-in went away in between (a redeploy): the next one to start recovers it.
      releaseMidFlow(this.options.endpoint, [entry.id]);
      this.release(entry);
      return;
    }
    entry.remaining = consumers.length;
    const { id, ack } = entry;
    for (const consumer of consumers) {
      let done = false;
      const delivery: IntakeDelivery = {
        id,
        raw: unit.text,
        message: unit.message,
        info: { ...unit.info },
        connection: { ...connection },
        ack,
        settled,
        complete: (result = {}) => {
          if (done) return;
          done = true;
          this.onComplete(entry, result);
        },
        respond: (code, errors) => this.respond(id, code, errors),
      };
      if (batch) delivery.batch = { ...batch };
      try {
        consumer(delivery);
      } catch (err) {
        this.logger.error('hl7 intake consumer threw', { id, ...summarizeError(err) });
        delivery.complete({ error: err });
      }
    }
  }

  private onComplete(entry: InFlight, result: CompletionResult): void {
    if (!this.inFlight.has(entry.id) || entry.statusSettled) return;
    if (result.error === undefined) {
      entry.remaining--;
      if (entry.remaining > 0) return;
      const write = this.settleStatus(entry, { status: 'sent' });
      if (entry.awaiting === 'on-completion') this.decide(entry, { code: 'AA', errors: [] }, write);
    } else {
      const where = result.nodeId ? `node ${result.nodeId}` : 'the flow';
      // Only the error's class and code: its message may quote the payload.
      const errorText = `${where} reported ${summarizeError(result.error).error ?? 'an error'} (${errorCode(result.error)})`;
      const write = this.settleStatus(entry, { status: 'error', errorCode: 'FLOW_ERROR', errorText });
      if (entry.awaiting === 'on-completion') this.decide(entry, { code: 'AE', errors: [{ code: 207, text: 'processing failed' }] }, write);
      this.logger.warn('hl7 intake flow failed a message', { id: entry.id, type: entry.info.messageType, controlId: entry.info.controlId, code: errorCode(result.error) });
    }
    this.releaseIfDone(entry);
  }

  private onTimeout(entry: InFlight): void {
    entry.timer = undefined;
    if (!this.inFlight.has(entry.id)) return;
    const answerPending = entry.awaiting !== null;
    if (answerPending || !entry.statusSettled) {
      const write = this.settleStatus(entry, { status: 'error', errorCode: 'TIMEOUT', errorText: `not completed within ${this.timeoutMs} ms` }, true);
      if (answerPending) this.decide(entry, { code: 'AE', errors: [{ code: 207, text: 'processing timed out' }] }, write);
    }
    this.logger.warn('hl7 intake processing timed out', { id: entry.id, type: entry.info.messageType, controlId: entry.info.controlId, timeoutMs: this.timeoutMs, answered: !answerPending });
    this.release(entry);
  }

  /**
   * Settle the answer. The ACK is released only after `after` (the status
   * write), so a sender that got AA/AE finds the record in its final state.
   */
  private decide(entry: InFlight, decision: Decision, after: Promise<void> = Promise.resolve()): void {
    if (entry.awaiting === null) return;
    entry.awaiting = null;
    if (decision.code === 'AA') entry.ticket.accept();
    else entry.ticket.reject();
    void after.then(() => entry.answer(decision));
    this.releaseIfDone(entry);
  }

  /** @param force - write even if a status was written before (a later, overriding outcome) */
  private settleStatus(entry: InFlight, patch: StatusPatch, force = false): Promise<void> {
    if (entry.statusSettled && !force) return Promise.resolve();
    // A forced write overrides an outcome already counted; a counter cannot take it back, so it counts once.
    if (!entry.statusSettled) {
      const outcome = patch.status === 'sent' ? 'sent' : patch.status === 'error' ? 'errored' : null;
      if (outcome) this.count(outcome, entry.info.messageType);
      this.metrics.processing(this.options.endpoint, Math.max(0, this.clock.now() - entry.dispatchedAt) / 1000);
    }
    entry.statusSettled = true;
    // Once the sender has its answer nobody waits on this write: let it join the next commit.
    return this.track(this.store.update(entry.id, patch, entry.awaiting === null ? { durability: 'soon' } : undefined));
  }

  private releaseIfDone(entry: InFlight): void {
    if (entry.statusSettled && entry.awaiting === null) this.release(entry);
  }

  private release(entry: InFlight): void {
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer);
    entry.timer = undefined;
    if (this.inFlight.get(entry.id) === entry) this.inFlight.delete(entry.id);
    entry.release();
  }

  /** Status writes never fail a message: the record already holds it. Failures are logged and awaited on close. */
  private track(write: Promise<void>): Promise<void> {
    const tracked = write.catch((err: unknown) => {
      this.logger.error('hl7 intake could not update message status', summarizeError(err));
    });
    this.writes.add(tracked);
    void tracked.finally(() => this.writes.delete(tracked));
    return tracked;
  }

  // ------------------------------------------------------------ duplicates

  private claim(unit: Unit): ReturnType<DuplicateIndex['claim']> {
    // Without MSH-10 there is nothing to recognise a retransmission by.
    if (!this.duplicates.enabled || !unit.info.controlId) return { ticket: NO_TICKET, reused: false };
    const key = `${unit.info.sender}\u0000${unit.info.controlId}`;
    const claim = this.duplicates.claim(key, contentDigest(unit.body, unit.message.delimiters.field));
    return claim instanceof Promise ? claim.then((c) => this.noteReuse(unit, c)) : this.noteReuse(unit, claim);
  }

  private noteReuse(unit: Unit, claim: DuplicateClaim): DuplicateClaim {
    if ('ticket' in claim && claim.reused) {
      this.logger.warn('hl7 intake control id reused with different content; processing as a new message', { type: unit.info.messageType, controlId: unit.info.controlId });
    }
    return claim;
  }

  private async answerDuplicate(unit: Unit, originalId: string, connection: IntakeConnection): Promise<Buffer | undefined> {
    try {
      const record = await this.store.insert(this.duplicateRecord(unit, originalId));
      this.count('received', unit.info.messageType);
      this.count('filtered', unit.info.messageType);
      this.logger.info('hl7 intake duplicate; answering without reprocessing', this.meta(unit, connection, { id: record.id, original: originalId }));
      return this.encodeFor(unit, { code: 'AA', errors: [] });
    } catch (err) {
      this.count('errored', unit.info.messageType);
      this.logger.error('hl7 intake could not store duplicate; answering AE', this.meta(unit, connection, { ack: 'AE', ...summarizeError(err) }));
      return this.encodeFor(unit, { code: 'AE', errors: [storeError()] });
    }
  }

  // --------------------------------------------------------------- rejects

  /** Unparseable input: the bytes are stored as an `error` record, the sender gets AR with an ERR segment. */
  private async rejectInput(payload: Buffer, text: string | undefined, error: unknown, connection: IntakeConnection): Promise<Buffer | undefined> {
    const header = salvageHeader(text ?? payload.toString('latin1'));
    const reason = error instanceof Hl7ParseError ? error.reason : errorCode(error);
    const detail = error instanceof Hl7ParseError ? error.message : summarizeError(error).error;
    let stored: MessageRecord | undefined;
    try {
      stored = await this.store.insert({
        ...this.recordBase(),
        controlId: header.controlId,
        messageType: header.messageType,
        sender: header.sender,
        receiver: header.receiver,
        status: 'error',
        errorCode: 'PARSE',
        errorText: `${reason}: ${String(detail)}`,
        body: payload,
      });
    } catch (err) {
      this.logger.error('hl7 intake could not store rejected input', { ...this.peer(connection), bytes: payload.length, ...summarizeError(err) });
    }
    // No type label: a salvaged MSH-9 of unparseable input is whatever the sender put there.
    if (stored) this.count('received', null);
    this.count('errored', null);
    const enhanced = this.options.enhancedAcks !== false && header.acceptAckType !== null;
    // Stored: the input itself is unusable, resending it cannot help (AR).
    // Not stored: the hub failed, so ask for a resend (AE) rather than lose it.
    const code = stored ? 'AR' : 'AE';
    const meta = { endpoint: this.options.endpoint, ...this.peer(connection), bytes: payload.length, controlId: header.controlId ?? undefined, reason, id: stored?.id };
    if (enhanced && !commitAckWanted(header.acceptAckType ?? '', false)) {
      this.logger.warn('hl7 intake rejected input; MSH-15 asks for no answer', { ...meta, ack: 'none' });
      return undefined;
    }
    const ack = this.acks.fromRaw(text ?? payload, code, enhanced, error, stored ? undefined : [storeError()]);
    this.logger.warn('hl7 intake rejected input', { ...meta, ack: enhanced ? (code === 'AR' ? 'CR' : 'CE') : code });
    return this.acks.encode(ack);
  }

  private async noConsumer(unit: Unit, connection: IntakeConnection): Promise<Buffer | undefined> {
    const record = await this.store
      .insert(this.newRecord(unit, { status: 'error', errorCode: 'NO_CONSUMER', errorText: 'no mllp-in node was receiving from this listener' }))
      .catch(() => undefined);
    if (record) this.count('received', unit.info.messageType);
    this.count('errored', unit.info.messageType);
    this.logger.warn('hl7 intake has no consumer; answering AE', this.meta(unit, connection, { id: record?.id, ack: 'AE' }));
    return this.encodeFor(unit, { code: 'AE', errors: [{ code: 207, text: 'no receiver is active' }] });
  }

  /** AE (207) without storing: used while closing and when the intake itself failed. */
  private internalError(payload: Buffer, connection: IntakeConnection, why: 'closing' | 'internal'): Buffer | undefined {
    if (why === 'closing') this.logger.warn('hl7 intake closing; answering AE', { ...this.peer(connection), bytes: payload.length });
    try {
      const text = why === 'closing' ? 'receiver shutting down; resend later' : undefined;
      return this.acks.encode(this.acks.fromRaw(payload, 'AE', false, undefined, [{ code: 207, ...(text ? { text } : {}) }]));
    } catch {
      return undefined;
    }
  }

  // --------------------------------------------------------------- helpers

  /**
   * Every message that arrives counts once as `received` when it is stored,
   * and once more when its outcome is known: `sent` (the flow completed it),
   * `filtered` (a duplicate) or `errored` (unparseable, refused, failed, or
   * not stored at all, when it counts as `errored` only).
   */
  private count(outcome: MessageOutcome, messageType: string | null | undefined): void {
    // MSH-9 comes from the sender: anything not shaped like a message type (ORU^R01) becomes `other`, so a label never carries content and the series stay few.
    const type = !messageType ? null : MESSAGE_TYPE_LABEL.test(messageType) ? messageType : 'other';
    this.metrics.message(this.options.endpoint, outcome, type);
  }

  private ackFor(unit: Unit, decision: Decision): Hl7Message | undefined {
    if (unit.enhanced && !commitAckWanted(unit.info.acceptAckType ?? '', decision.code === 'AA')) return undefined;
    return this.acks.message(unit.message, decision.code, unit.enhanced, decision.errors);
  }

  private encodeFor(unit: Unit, decision: Decision): Buffer | undefined {
    const ack = this.ackFor(unit, decision);
    return ack ? this.acks.encode(ack) : undefined;
  }

  private ackLabel(unit: Unit, decision: Decision, response: Buffer | undefined): string {
    if (!response) return 'none';
    return unit.enhanced ? { AA: 'CA', AE: 'CE', AR: 'CR' }[decision.code] : decision.code;
  }

  private recordBase(): Pick<NewMessage, 'flowId' | 'nodeId' | 'direction' | 'endpoint' | 'contentType'> {
    return { flowId: this.options.flowId ?? null, nodeId: this.options.nodeId ?? null, direction: 'inbound', endpoint: this.options.endpoint, contentType: CONTENT_TYPE };
  }

  private newRecord(unit: Unit, extra: Pick<NewMessage, 'status' | 'errorCode' | 'errorText' | 'parentId'>): NewMessage {
    // A literal rather than spreads: built for every message, and the spread form was ~3% of the intake's event-loop time.
    const { info } = unit;
    const record: NewMessage = {
      flowId: this.options.flowId ?? null,
      nodeId: this.options.nodeId ?? null,
      direction: 'inbound',
      endpoint: this.options.endpoint,
      contentType: CONTENT_TYPE,
      controlId: info.controlId || null,
      messageType: info.messageType || null,
      sender: info.sender || null,
      receiver: info.receiver || null,
      patientId: unit.patientId,
      body: unit.body,
      status: extra.status,
    };
    if (extra.errorCode !== undefined) record.errorCode = extra.errorCode;
    if (extra.errorText !== undefined) record.errorText = extra.errorText;
    if (extra.parentId !== undefined) record.parentId = extra.parentId;
    return record;
  }

  private duplicateRecord(unit: Unit, originalId: string): NewMessage {
    return this.newRecord(unit, { status: 'filtered', errorCode: 'DUPLICATE', errorText: `duplicate of ${originalId}`, parentId: originalId });
  }

  private peer(connection: IntakeConnection): LogMeta {
    return { connectionId: connection.connectionId, remoteAddress: connection.remoteAddress, remotePort: connection.remotePort };
  }

  private meta(unit: Unit, connection: IntakeConnection, extra: LogMeta = {}): LogMeta {
    return { endpoint: this.options.endpoint, type: unit.info.messageType, controlId: unit.info.controlId, ...this.peer(connection), bytes: unit.body.length, ...extra };
  }
}

const NO_TICKET: DuplicateTicket = { bind: () => undefined, accept: () => undefined, reject: () => undefined };
/** Where a reprocessed message "comes from": no sender, nothing to answer. */
const REPROCESS_CONNECTION: IntakeConnection = { connectionId: 0, remoteAddress: 'reprocess', remotePort: 0 };

function storeError(): AckError {
  return { code: 207, text: 'message could not be stored; resend later' };
}

const MSH = Buffer.from('MSH', 'latin1');

/**
 * SHA-256 over the message as received with MSH-7 (date/time of message)
 * left out: senders that regenerate MSH-7 when they resend still match.
 * Read from the bytes, not re-serialized or re-encoded: this runs for every
 * message, and the header up to MSH-7 is ASCII in every charset the intake
 * reads (MSH-18: ASCII, UTF-8, ISO-8859-1), so separators are found byte for byte.
 *
 * @param body - the message bytes as received
 * @param separator - its field separator (MSH-1)
 */
function contentDigest(body: Buffer, separator: string): Buffer {
  const hash = createHash('sha256');
  const sep = separator.charCodeAt(0);
  // MSH-7 starts after the 6th field separator, counting MSH-1 itself.
  let start = body.indexOf(MSH) + 3;
  for (let n = 0; n < 6 && start > 2; n++) start = body.indexOf(sep, start) + 1;
  if (start <= 2) return hash.update(body).digest();
  let end = start;
  for (let c = body[end]; end < body.length && c !== sep && c !== 13 && c !== 10; c = body[++end]);
  return hash.update(body.subarray(0, start)).update(body.subarray(end)).digest();
}

function validate(o: Hl7IntakeOptions): void {
  if (!o.endpoint) throw new Hl7IntakeConfigError('endpoint is required');
  if (o.ackMode !== undefined && !ACK_MODES.includes(o.ackMode)) throw new Hl7IntakeConfigError(`ackMode must be one of ${ACK_MODES.join(', ')}`);
  const t = o.processingTimeoutMs;
  if (t !== undefined && (!Number.isInteger(t) || t < 1)) throw new Hl7IntakeConfigError(`processingTimeoutMs must be a positive integer, got ${t}`);
  const w = o.duplicateWindowMs;
  if (w !== undefined && (!Number.isInteger(w) || w < 0)) throw new Hl7IntakeConfigError(`duplicateWindowMs must be a non-negative integer, got ${w}`);
}
