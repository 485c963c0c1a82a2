import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  AstmClient,
  AstmClosedError,
  AstmParseError,
  AstmSerial,
  AstmServer,
  AstmUnitMismatchError,
  AstmUnmappedTestError,
  buildMessage,
  buildOrderMessage,
  decodeText,
  buildQueryResponse,
  fieldValue,
  normalizeMessage,
  parseQuery,
  serializeRecord,
  systemClock,
  systemTimers,
  toFhirBundle,
  toOruR01,
} from '../../adapters/astm';
import type {
  AstmClientDeps,
  AstmClientOptions,
  AstmConnection,
  AstmConnectionInfo,
  AstmHostQuery,
  AstmIncompleteMessageError,
  AstmMessage,
  AstmOrderInput,
  AstmQueryParseOptions,
  AstmReceivedMessage,
  AstmSendReport,
  AstmSerialDeps,
  AstmSerialOptions,
  AstmServerDeps,
  AstmServerOptions,
  Clock,
  FhirBundle,
  FhirObservation,
  InstrumentProfile,
  LabResult,
  Timers,
} from '../../adapters/astm';
import { errorCode, IntegrationError } from '../../adapters/shared/errors';
import type { HubMetrics } from '../../adapters/shared/hub-metrics';
import { noopMetrics } from '../../adapters/shared/hub-metrics';
import type { Logger } from '../../adapters/shared/logger';
import { summarizeError } from '../../adapters/shared/redact';
import { RecoveryPasses } from '../../adapters/shared/recovery-passes';
import type { MessageStore, MessageStatus } from '../../adapters/store';
import type { AstmDelivery, AstmDeliveryError, AstmInConsumer, AstmPeer, PendingQueryHandle } from './types';

/**
 * The astm-instrument config node's engine, in plain TypeScript (no
 * node-red import, so it can move to adapters/ as it is): one instrument
 * link over an AstmServer, AstmClient or AstmSerial, with the hub's store in front of
 * the ACK and the instrument's profile behind it.
 *
 * Receiving: every complete E1394 message is stored (raw text, endpoint =
 * instrument id) before the handler resolves, so the ACK of its last frame
 * follows the store commit; a failed insert NAKs and the instrument
 * retransmits. After that the message is normalized (results, QC, errors),
 * turned into FHIR and ORU^R01, its host queries are held for the flow's
 * answer, and the delivery goes to every consumer (astm-in). Its stored
 * status becomes sent, filtered or error (with the code).
 *
 * Sending: order downloads and query answers are recorded as outbound
 * messages, then sent in their own E1381 session; the link layer does
 * establishment and frame retransmission, this class retries the whole
 * message when that is safe (retryable and not possibly delivered).
 */

/** Hex characters of the message key used as the stored control id (128 bits). */
export const CONTROL_ID_HEX = 32;
/** Default: the flow has this long to answer a host query. IMMULITE and cobas wait longer than this. */
export const QUERY_TIMEOUT_MS = 10_000;
/** Server mode: how long a send waits for the instrument to connect. */
export const CONNECT_WAIT_MS = 10_000;
const CONTENT_TYPE = 'application/astm';
const MESSAGE_TYPE = 'ASTM';
/** Expired query ids remembered so a late answer is told "timed out", not "unknown". */
const EXPIRED_MEMORY = 1000;
/**
 * Recovery at start takes a record left `received` once untouched this long:
 * a live hub process sharing the store processes what it stored within
 * milliseconds, so an older one is nobody's.
 */
export const RECOVER_AFTER_MS = 15_000;
/** Most records one recovery pass takes, oldest first; the rest wait for the next pass. */
const MAX_RECOVERED = 10_000;
const QUERY_INTERRUPTED_TEXT = 'host query not answered: the hub stopped before the flow answered it';
const UNREADABLE_TEXT = 'the hub stopped before processing this message, and its stored copy could not be read again';

export interface QueryAnswerOptions {
  /** H.5 of what the hub sends. */
  sender: string;
  /** One O record per test (the IMMULITE download sample). */
  oneTestPerOrder?: boolean;
  /** Answer queried specimens without orders with an O record without tests (cobas e411). */
  answerUnknownSpecimens?: boolean;
  /** H.11 of query answers (cobas e411: TSDWN^REPLY). */
  queryHeaderComment?: readonly string[];
}

export interface AnalyzerLinkOptions {
  /** Store endpoint and the results' instrument id. */
  instrumentId: string;
  transport: { mode: 'server'; options: AstmServerOptions } | { mode: 'client'; options: AstmClientOptions } | { mode: 'serial'; options: AstmSerialOptions };
  profile: InstrumentProfile;
  answers: QueryAnswerOptions;
  /** Where Q.3 holds the specimen ID. */
  query: AstmQueryParseOptions;
  /** Default {@link QUERY_TIMEOUT_MS}. */
  queryTimeoutMs?: number;
  /** Server mode: default {@link CONNECT_WAIT_MS}. */
  connectWaitMs?: number;
  /** Window in which a stored byte-identical message is not stored again (also the adapter's duplicate window). */
  duplicateWindowMs: number;
  /** Recorded on every stored message. */
  flowId?: string | null;
  nodeId?: string | null;
}

export interface AnalyzerLinkDeps {
  store: MessageStore;
  logger: Logger;
  metrics?: HubMetrics;
  timers?: Timers;
  clock?: Clock;
  /** Socket seams for tests. */
  server?: AstmServerDeps;
  client?: AstmClientDeps;
  /** Serial mode: the port factory (tests pass an in-memory duplex). */
  serial?: AstmSerialDeps;
}

/** Connection state for status text. */
export type LinkState =
  | { phase: 'starting' }
  | { phase: 'listening'; port: number; connections: number }
  | { phase: 'connecting' }
  | { phase: 'connected'; connections: number }
  | { phase: 'retrying' }
  | { phase: 'error'; code: string }
  | { phase: 'closed' };

export interface SendOutcome {
  /** Hub id of the outbound record. */
  id: string;
  /** Whole-message attempts (1 without retries). */
  attempts: number;
  report: AstmSendReport;
}

interface SendRequest {
  parentId?: string | null;
  patientId?: string | null;
  /** Server mode: the connection to prefer (where a query came from). */
  connectionId?: number;
  retries: number;
  retryDelayMs: number;
  flowId?: string | null;
  nodeId?: string | null;
}

/** One stored inbound message whose queries are still open. */
interface MessageEntry {
  id: string;
  open: number;
  /** Status before the queries settle; an error here wins. */
  failure?: { code: string; text: string };
}

interface PendingQuery {
  id: string;
  query: AstmHostQuery;
  connectionId: number;
  entry: MessageEntry;
  timer: unknown;
}

export interface AnalyzerLinkEvents {
  state: [state: LinkState];
}

/** Errors that name the query, not its content. */
export class AstmQueryStateError extends IntegrationError {}

export class AnalyzerLink extends EventEmitter<AnalyzerLinkEvents> {
  private readonly store: MessageStore;
  private readonly logger: Logger;
  private readonly metrics: HubMetrics;
  private readonly timers: Timers;
  private readonly clock: Clock;
  private readonly server: AstmServer | undefined;
  /** Client or serial mode: both keep one line open and reopen it with backoff. */
  private readonly client: AstmClient | AstmSerial | undefined;
  private readonly consumers = new Set<AstmInConsumer>();
  private readonly queries = new Map<string, PendingQuery>();
  private readonly expired = new Set<string>();
  private readonly peerList = new Map<number, AstmPeer>();
  /** Retry pauses and waits for an instrument to connect: both end at close(). */
  private readonly sleeps = new Set<{ timer: unknown; reject: (e: Error) => void }>();
  private readonly background = new Set<Promise<unknown>>();
  private chain: Promise<void> = Promise.resolve();
  /**
   * Ids waiting in the chain to be processed, with how many times (a reprocess
   * may queue one again before its first run): recovery leaves these alone.
   */
  private readonly unprocessed = new Map<string, number>();
  private readonly recovery: RecoveryPasses<{ reprocessed: number; interrupted: number }>;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private current: LinkState = { phase: 'starting' };

  /**
   * @param options - instrument, transport, profile and query settings (see readSettings)
   * @param deps - the hub's store, logger and metrics; timers, clock and socket seams
   */
  constructor(
    private readonly options: AnalyzerLinkOptions,
    deps: AnalyzerLinkDeps,
  ) {
    super();
    this.store = deps.store;
    this.logger = deps.logger;
    this.metrics = deps.metrics ?? noopMetrics;
    this.timers = deps.timers ?? systemTimers;
    this.clock = deps.clock ?? systemClock;
    this.recovery = new RecoveryPasses(() => this.recoveryPass(), this.timers, (err: unknown) =>
      this.logger.warn('astm instrument recovery failed', { endpoint: options.instrumentId, ...summarizeError(err) }),
    );
    const transportDeps = { logger: this.logger, timers: this.timers, clock: this.clock };
    const t = options.transport;
    if (t.mode === 'server') {
      this.server = new AstmServer(t.options, this.handle, { ...transportDeps, ...deps.server });
      this.server.on('listening', (a) => this.setState({ phase: 'listening', port: a.port, connections: this.peerList.size }));
      this.server.on('connection', (info) => this.peerUp(info));
      this.server.on('disconnect', (info) => this.peerDown(info));
      this.server.on('error', (err) => this.logger.warn('astm instrument listener error', { endpoint: options.instrumentId, ...summarizeError(err) }));
    } else {
      this.client = t.mode === 'serial' ? new AstmSerial(t.options, this.handle, { ...transportDeps, ...deps.serial }) : new AstmClient(t.options, this.handle, { ...transportDeps, ...deps.client });
      this.client.on('connected', (info) => this.peerUp(info));
      this.client.on('disconnected', () => {
        this.peerList.clear();
        this.metrics.connections(options.instrumentId, 0);
        this.setState({ phase: 'retrying' });
      });
      this.client.on('reconnecting', () => {
        if (this.current.phase !== 'retrying') this.setState({ phase: 'retrying' });
      });
      this.client.on('error', (err) => this.logger.warn('astm instrument connect failed', { endpoint: options.instrumentId, ...summarizeError(err) }));
    }
    const transport = (this.server ?? this.client)!;
    transport.on('incomplete', (err) => this.onIncomplete(err));
    transport.on('handlerError', (err) => this.problem({ error: { code: errorCode(err), message: `message not stored; its last frame was NAKed for retransmission (${errorCode(err)})` } }));
  }

  get state(): LinkState {
    return this.current;
  }

  get instrumentId(): string {
    return this.options.instrumentId;
  }

  /** Server mode: the bound port. */
  get port(): number | undefined {
    return this.server?.port;
  }

  get connections(): number {
    return this.peerList.size;
  }

  peers(): AstmPeer[] {
    return [...this.peerList.values()].map((p) => ({ ...p }));
  }

  /** Listen (server) or start connecting (client) or opening the port (serial). Calling it again returns the same promise. */
  start(): Promise<void> {
    this.started ??= (async () => {
      if (this.server) {
        try {
          await this.server.listen();
        } catch (err) {
          this.setState({ phase: 'error', code: errorCode(err) });
          throw err;
        }
      } else {
        this.setState({ phase: 'connecting' });
        this.client!.start();
      }
    })();
    return this.started;
  }

  /**
   * Receive deliveries and problems.
   * @param consumer - an astm-in node's callbacks
   * @returns unsubscribe
   */
  onDelivery(consumer: AstmInConsumer): () => void {
    this.consumers.add(consumer);
    return () => this.consumers.delete(consumer);
  }

  /**
   * Order download (E1394 H, P, O.., L), recorded and sent in a new session.
   *
   * @param input - orders, or E1394 text (records ended by CR)
   * @param request - related message, retries
   */
  async sendOrders(input: readonly AstmOrderInput[] | string, request: SendRequest): Promise<SendOutcome> {
    let text: string;
    let patientId = request.patientId ?? null;
    if (typeof input === 'string') {
      if (input.trim() === '') throw new AstmParseError('nothing to send: the E1394 text is empty', 'EMPTY');
      text = input.endsWith('\r') ? input : `${input}\r`;
    } else {
      const orders = checkOrders(input);
      if (orders.length === 0) throw new AstmParseError('nothing to send: no orders', 'EMPTY');
      patientId ??= orders.find((o) => o.patient?.id)?.patient?.id ?? null;
      text = buildOrderMessage(orders, { sender: this.options.answers.sender, receiver: this.options.instrumentId, at: new Date(this.clock()), utcOffset: this.options.profile.utcOffset, oneTestPerOrder: this.options.answers.oneTestPerOrder ?? false });
    }
    return this.sendText(text, { ...request, patientId });
  }

  /**
   * Answer a pending host query with orders (none: "no information"). The
   * answer goes out as a new session on the connection the query came on
   * (server mode; another open one if that has closed).
   *
   * @param queryId - the id astm-in put in msg._astmQuery
   * @param orders - orders for the queried specimens
   * @throws AstmQueryStateError TIMEOUT when the query timed out (the hub already answered "no information"), NOT_FOUND when unknown
   */
  async answerQuery(queryId: string, orders: readonly AstmOrderInput[], ids: { flowId?: string | null; nodeId?: string | null } = {}): Promise<SendOutcome> {
    const checked = checkOrders(orders);
    const pending = this.queries.get(queryId);
    if (!pending) {
      if (this.expired.has(queryId)) throw new AstmQueryStateError(`host query ${queryId} timed out; the instrument was answered "no information"`, 'TIMEOUT', false);
      throw new AstmQueryStateError(`host query ${queryId} is not pending (answered already, or from an earlier deployment)`, 'NOT_FOUND', false);
    }
    this.claim(pending);
    const text = this.queryAnswer(pending.query, checked);
    try {
      const outcome = await this.sendText(text, {
        parentId: pending.entry.id,
        patientId: checked.find((o) => o.patient?.id)?.patient?.id ?? null,
        connectionId: pending.connectionId,
        retries: 0,
        retryDelayMs: 0,
        ...ids,
      });
      this.settle(pending.entry);
      return outcome;
    } catch (err) {
      this.settle(pending.entry, { code: errorCode(err), text: `host query answer not delivered (${errorCode(err)})` });
      throw err;
    }
  }

  /** Stop: pending queries are dropped, sends waiting to retry fail, the transport closes. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.recovery.stop();
      for (const q of [...this.queries.values()]) {
        this.claim(q);
        this.settle(q.entry, { code: 'SHUTDOWN', text: 'host query not answered: the instrument link was stopped' });
      }
      for (const s of [...this.sleeps]) {
        this.timers.clearTimeout(s.timer);
        s.reject(new AstmClosedError('instrument link closed'));
      }
      this.sleeps.clear();
      await (this.server ?? this.client)!.close();
      await this.chain;
      await Promise.allSettled([...this.background]);
      this.peerList.clear();
      this.setState({ phase: 'closed' });
    })();
    return this.closing;
  }

  // ------------------------------------------------------------- receiving

  /** The adapter's message handler: store, then let the ACK go. */
  private readonly handle = async (m: AstmReceivedMessage): Promise<void> => {
    // NAK while stopping: the instrument keeps the message and sends it again to the next deployment.
    if (this.closing) throw new AstmClosedError('instrument link is stopping');
    const endpoint = this.options.instrumentId;
    const controlId = m.key.slice(0, CONTROL_ID_HEX);
    const message = m.message;
    const patientId = firstPatientId(message, this.options.profile);
    if (await this.storedRecently(controlId)) {
      this.logger.info('astm message stored earlier; acknowledged, not stored again', { endpoint, controlId, connection: m.connection.id });
      return;
    }
    const header = message.header;
    const d = message.delimiters;
    const record = await this.store.insert({
      direction: 'inbound',
      endpoint,
      flowId: this.options.flowId ?? null,
      nodeId: this.options.nodeId ?? null,
      controlId,
      messageType: MESSAGE_TYPE,
      sender: (fieldValue(header, 5, d) ?? '').trim() || null,
      receiver: (fieldValue(header, 10, d) ?? '').trim() || null,
      patientId,
      status: 'received',
      contentType: CONTENT_TYPE,
      receivedAt: new Date(m.receivedAt),
      body: Buffer.from(m.text, m.charset === 'latin1' ? 'latin1' : 'utf8'),
    });
    this.metrics.message(endpoint, 'received', MESSAGE_TYPE);
    this.logger.info('astm message stored', { endpoint, id: record.id, controlId, records: message.records.length, bytes: Buffer.byteLength(m.text), connection: m.connection.id });
    // Processing follows the ACK (one turn later, so the ACK is written first), in arrival order;
    // it never fails the handler: that would NAK a message that is stored.
    this.queued(record.id, 1);
    this.chain = this.chain
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.process(record.id, controlId, patientId, m))
      .catch((err: unknown) => {
        this.logger.error('astm message processing failed', { endpoint, id: record.id, ...summarizeError(err) });
      })
      .finally(() => this.queued(record.id, -1));
  };

  /**
   * Messages a previous run stored and acknowledged and never processed (the
   * process stopped between the ACK and the flow) are still `received`: the
   * instrument will not send them again, so they go through mapping and the
   * flow now, as an operator's reprocess would send them (attempts + 1).
   * Messages left `processing` were waiting for the flow to answer their
   * host queries; the instrument has long stopped waiting, so they are
   * marked `error` INTERRUPTED, as close() settles them. A record counts
   * once untouched for RECOVER_AFTER_MS (for `processing`, plus the query
   * timeout), so another live hub process sharing the store keeps its own;
   * fresher ones get another pass once old enough. Passes run one after
   * another, never side by side.
   * @returns how many went through the flow again, and how many were marked INTERRUPTED
   */
  recoverInterrupted(): Promise<{ reprocessed: number; interrupted: number }> {
    return this.recovery.run();
  }

  private async recoveryPass(): Promise<{ reprocessed: number; interrupted: number }> {
    // Without a receiver they would only fail again: they wait for a start that has one.
    if (this.closing || this.consumers.size === 0) return { reprocessed: 0, interrupted: 0 };
    const endpoint = this.options.instrumentId;
    const now = this.clock();
    const waits = { received: RECOVER_AFTER_MS, processing: RECOVER_AFTER_MS + (this.options.queryTimeoutMs ?? QUERY_TIMEOUT_MS) };
    const found: { id: string; status: 'received' | 'processing'; receivedAt: number }[] = [];
    let recheckAt = Infinity;
    for (const status of ['received', 'processing'] as const) {
      let cursor: string | undefined;
      do {
        const page = await this.store.search({ direction: 'inbound', endpoint, status, limit: 200, cursor });
        for (const r of page.items) {
          if (r.messageType !== MESSAGE_TYPE || this.handledHere(r.id)) continue;
          const takeAt = r.updatedAt.getTime() + waits[status];
          if (takeAt <= now) found.push({ id: r.id, status, receivedAt: r.receivedAt.getTime() });
          else recheckAt = Math.min(recheckAt, takeAt + 1);
        }
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    if (recheckAt !== Infinity) this.recovery.later(recheckAt - now);
    let reprocessed = 0;
    let interrupted = 0;
    // In the order the instrument sent them, as far as receipt times (milliseconds) tell.
    found.sort((a, b) => a.receivedAt - b.receivedAt);
    for (const f of found.slice(0, MAX_RECOVERED)) {
      if (this.closing) break;
      const record = await this.store.get(f.id, { includeBody: true });
      // An operator's reprocess may have taken it meanwhile.
      if (!record?.body || record.status !== f.status || this.handledHere(f.id)) continue;
      let errorText = QUERY_INTERRUPTED_TEXT;
      if (f.status === 'received') {
        try {
          await this.reprocess({ ...record, body: record.body });
          reprocessed++;
          continue;
        } catch (err) {
          // Stopping, or its last astm-in left meanwhile: it stays for the next start.
          if (this.closing || this.consumers.size === 0) break;
          errorText = UNREADABLE_TEXT;
          this.logger.warn('astm instrument could not recover a message', { endpoint, id: f.id, ...summarizeError(err) });
        }
      }
      await this.store.update(f.id, { status: 'error', errorCode: 'INTERRUPTED', errorText });
      this.metrics.message(endpoint, 'errored', MESSAGE_TYPE);
      interrupted++;
    }
    if (reprocessed + interrupted > 0) this.logger.warn('astm instrument recovered messages a previous run left unfinished', { endpoint, reprocessed, interrupted });
    return { reprocessed, interrupted };
  }

  private queued(id: string, change: 1 | -1): void {
    const n = (this.unprocessed.get(id) ?? 0) + change;
    if (n > 0) this.unprocessed.set(id, n);
    else this.unprocessed.delete(id);
  }

  /** Stored by this link and not processed yet, or holding a host query this link waits on. */
  private handledHere(id: string): boolean {
    if (this.unprocessed.has(id)) return true;
    for (const q of this.queries.values()) if (q.entry.id === id) return true;
    return false;
  }

  /**
   * Run a stored message through mapping and the flow again (an operator's
   * reprocess, e.g. after a missing test code was added to the profile): the
   * record goes back to `processing` with one attempt more, its results are
   * mapped with today's profile and delivered as a new delivery, and its
   * status is settled as on arrival. Host queries in it are not answered
   * again: the instrument asked long ago.
   * @param record - an inbound record of this instrument with its body as stored
   * @throws IntegrationError CONFIG when it is not this instrument's message or nobody is receiving; the parse error when it does not parse
   */
  async reprocess(record: { id: string; direction: string; endpoint: string; messageType: string | null; controlId: string | null; receivedAt: Date; body: Buffer }): Promise<void> {
    if (this.closing) throw new IntegrationError('the instrument link is stopping', 'CONFIG', false);
    if (record.direction !== 'inbound' || record.endpoint !== this.options.instrumentId || record.messageType !== MESSAGE_TYPE) {
      throw new IntegrationError("only an inbound ASTM message of this instrument can be reprocessed", 'CONFIG', false);
    }
    if (this.consumers.size === 0) throw new IntegrationError('no astm-in node is receiving from this instrument', 'CONFIG', false);
    const { text, charset } = decodeText(record.body, 'auto');
    const message = buildMessage(text.split('\r').filter((r) => r !== ''));
    const patientId = firstPatientId(message, this.options.profile);
    await this.store.update(record.id, { status: 'processing', errorCode: null, errorText: null, incrementAttempts: true });
    this.logger.info('astm message reprocessing', { endpoint: this.options.instrumentId, id: record.id, controlId: record.controlId ?? undefined });
    const received: AstmReceivedMessage = {
      message: withoutQueries(message),
      text,
      terminated: true,
      connection: { id: 0 },
      receivedAt: record.receivedAt.toISOString(),
      key: createHash('sha256').update(text).digest('hex'),
      charset,
    };
    this.queued(record.id, 1);
    this.chain = this.chain
      .then(() => this.process(record.id, record.controlId ?? '', patientId, received))
      .catch((err: unknown) => {
        this.logger.error('astm message processing failed', { endpoint: this.options.instrumentId, id: record.id, ...summarizeError(err) });
      })
      .finally(() => this.queued(record.id, -1));
  }

  /** The adapter's duplicate window is in memory; after a restart the store still knows. */
  private async storedRecently(controlId: string): Promise<boolean> {
    if (this.options.duplicateWindowMs <= 0) return false;
    const from = new Date(this.clock() - this.options.duplicateWindowMs);
    const page = await this.store.search({ controlId, endpoint: this.options.instrumentId, direction: 'inbound', from, limit: 1 });
    return page.items.length > 0;
  }

  private async process(id: string, controlId: string, patientId: string | null, m: AstmReceivedMessage): Promise<void> {
    const endpoint = this.options.instrumentId;
    const normalized = normalizeMessage(m.message, this.options.profile);
    const errors = normalized.errors.map(deliveryError);
    const delivery: AstmDelivery = {
      id,
      instrumentId: endpoint,
      controlId,
      key: m.key,
      text: m.text,
      records: m.message.records.map((r) => serializeRecord(r, m.message.delimiters)),
      message: m.message,
      connection: m.connection,
      receivedAt: m.receivedAt,
      ...(patientId ? { patientId } : {}),
      results: normalized.results,
      qc: normalized.qc,
      errors,
      queries: [],
    };
    if (normalized.results.length > 0) {
      try {
        Object.assign(delivery, this.outputs(normalized.results, id));
      } catch (err) {
        errors.push({ code: 'BUILD', message: `FHIR/ORU output could not be built (${errorCode(err)})` });
      }
    }
    const queries = this.readQueries(m.message, errors);
    const cancels = queries.filter((q) => q.cancel);
    if (cancels.length > 0) this.cancelQueries(m.connection.id);
    const asked = queries.filter((q) => !q.cancel);
    const failure = errors[0] ? { code: errors[0].code, text: errorText(errors) } : undefined;
    const entry: MessageEntry = { id, open: 0, ...(failure ? { failure } : {}) };

    let status: MessageStatus;
    let emit = false;
    if (this.consumers.size === 0) {
      // Stored and acknowledged; nobody to hand it to. Queries still get an answer so the instrument does not wait.
      for (const q of asked) this.track(this.answerNoInformation(q, m.connection.id, id));
      entry.failure = { code: 'NO_CONSUMER', text: 'no astm-in node was receiving from this instrument' };
      status = 'error';
    } else {
      for (const query of asked) delivery.queries.push(this.hold(query, m.connection.id, entry));
      emit = delivery.results.length + delivery.qc.length + errors.length + delivery.queries.length > 0;
      status = entry.failure ? 'error' : entry.open > 0 ? 'processing' : emit ? 'sent' : 'filtered';
    }
    // Written before the flow sees the message, so an answer's later status write cannot be overtaken.
    const written = this.store.update(id, { status, errorCode: entry.failure?.code ?? null, errorText: entry.failure?.text ?? null }, { durability: 'soon' }).catch((err: unknown) => {
      this.logger.warn('astm message status not recorded', { endpoint, id, ...summarizeError(err) });
    });
    if (emit) this.dispatch(delivery);
    const outcome = status === 'error' ? 'errored' : status === 'processing' ? undefined : status;
    if (outcome) this.metrics.message(endpoint, outcome, MESSAGE_TYPE);
    this.logger.info('astm message processed', {
      endpoint,
      id,
      results: normalized.results.length,
      qc: normalized.qc.length,
      errors: errors.length,
      queries: asked.length,
      status,
      code: entry.failure?.code,
    });
    await written;
  }

  private outputs(results: LabResult[], id: string): { fhir: FhirBundle; observations: FhirObservation[]; oru: string } {
    const fhir = toFhirBundle(results);
    const observations = fhir.entry.map((e) => e.resource).filter((r): r is FhirObservation => r.resourceType === 'Observation');
    const oru = toOruR01(results, { sendingApplication: this.options.answers.sender, sendingFacility: this.options.instrumentId, controlId: id, at: new Date(this.clock()) });
    return { fhir, observations, oru };
  }

  private readQueries(message: AstmMessage, errors: AstmDeliveryError[]): AstmHostQuery[] {
    const out: AstmHostQuery[] = [];
    message.queries.forEach((q, i) => {
      try {
        out.push(parseQuery(q.record, message.delimiters, { testCodeComponent: this.options.profile.testCodeComponent ?? 4, ...this.options.query }));
      } catch (err) {
        errors.push({ code: 'PARSE', message: `Q record ${i + 1} could not be read (${errorCode(err)})` });
      }
    });
    return out;
  }

  private dispatch(delivery: AstmDelivery): void {
    for (const consumer of this.consumers) {
      try {
        consumer.delivery(delivery);
      } catch (err) {
        this.logger.warn('astm consumer failed', { endpoint: this.options.instrumentId, id: delivery.id, ...summarizeError(err) });
      }
    }
  }

  private problem(item: { error: AstmDeliveryError; hubMessageId?: string; queryId?: string }): void {
    for (const consumer of this.consumers) {
      try {
        consumer.problem(item);
      } catch (err) {
        this.logger.warn('astm consumer failed', { endpoint: this.options.instrumentId, ...summarizeError(err) });
      }
    }
  }

  private onIncomplete(err: AstmIncompleteMessageError): void {
    this.problem({ error: { code: 'INCOMPLETE', reason: err.reason, message: err.message } });
  }

  // --------------------------------------------------------------- queries

  private hold(query: AstmHostQuery, connectionId: number, entry: MessageEntry): PendingQueryHandle {
    const id = randomUUID();
    const timeoutMs = this.options.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    const pending: PendingQuery = { id, query, connectionId, entry, timer: undefined };
    pending.timer = this.timers.setTimeout(() => this.expire(pending, timeoutMs), timeoutMs);
    this.queries.set(id, pending);
    entry.open++;
    return { id, query };
  }

  private claim(pending: PendingQuery): void {
    this.timers.clearTimeout(pending.timer);
    this.queries.delete(pending.id);
  }

  private expire(pending: PendingQuery, timeoutMs: number): void {
    if (!this.queries.has(pending.id)) return;
    this.claim(pending);
    this.expired.add(pending.id);
    if (this.expired.size > EXPIRED_MEMORY) this.expired.delete(this.expired.values().next().value!);
    this.logger.warn('astm host query not answered in time; answering no information', { endpoint: this.options.instrumentId, id: pending.entry.id, timeoutMs });
    this.track(this.answerNoInformation(pending.query, pending.connectionId, pending.entry.id));
    const text = `host query not answered by the flow within ${timeoutMs} ms; the instrument was answered "no information"`;
    this.settle(pending.entry, { code: 'TIMEOUT', text });
    this.problem({ error: { code: 'TIMEOUT', message: text }, hubMessageId: pending.entry.id, queryId: pending.id });
  }

  /** Q.13 = A: the instrument withdraws its queries on this connection; their answers would only confuse it. */
  private cancelQueries(connectionId: number): void {
    for (const q of [...this.queries.values()]) {
      if (q.connectionId !== connectionId) continue;
      this.claim(q);
      this.expired.add(q.id);
      this.settle(q.entry, { code: 'CANCELLED', text: 'host query withdrawn by the instrument (Q.13 = A)' });
    }
  }

  private async answerNoInformation(query: AstmHostQuery, connectionId: number, parentId: string): Promise<void> {
    try {
      await this.sendText(this.queryAnswer(query, []), { parentId, connectionId, retries: 0, retryDelayMs: 0 });
    } catch {
      // Recorded on the outbound record and logged by sendText.
    }
  }

  private queryAnswer(query: AstmHostQuery, orders: readonly AstmOrderInput[]): string {
    const a = this.options.answers;
    return buildQueryResponse(query, orders, {
      sender: a.sender,
      receiver: this.options.instrumentId,
      ...(a.queryHeaderComment ? { headerComment: a.queryHeaderComment } : {}),
      at: new Date(this.clock()),
      utcOffset: this.options.profile.utcOffset,
      oneTestPerOrder: a.oneTestPerOrder ?? false,
      answerUnknownSpecimens: a.answerUnknownSpecimens ?? false,
    });
  }

  /** One query of a stored message is done; the record's status follows once all are. */
  private settle(entry: MessageEntry, failure?: { code: string; text: string }): void {
    if (failure && !entry.failure) entry.failure = failure;
    entry.open--;
    if (entry.open > 0) return;
    const status: MessageStatus = entry.failure ? 'error' : 'sent';
    this.metrics.message(this.options.instrumentId, entry.failure ? 'errored' : 'sent', MESSAGE_TYPE);
    this.track(
      this.store.update(entry.id, { status, errorCode: entry.failure?.code ?? null, errorText: entry.failure?.text ?? null }, { durability: 'soon' }).catch((err: unknown) => {
        this.logger.warn('astm message status not recorded', { endpoint: this.options.instrumentId, id: entry.id, ...summarizeError(err) });
      }),
    );
  }

  // --------------------------------------------------------------- sending

  /** Record, send (with retries), record the outcome. close() waits for sends in flight to record theirs. */
  private sendText(text: string, request: SendRequest): Promise<SendOutcome> {
    const sending = this.recordAndSend(text, request);
    this.track(sending.catch(() => undefined));
    return sending;
  }

  private async recordAndSend(text: string, request: SendRequest): Promise<SendOutcome> {
    if (this.closing) throw new AstmClosedError('instrument link is stopping');
    const endpoint = this.options.instrumentId;
    const record = await this.store.insert({
      direction: 'outbound',
      endpoint,
      flowId: request.flowId ?? this.options.flowId ?? null,
      nodeId: request.nodeId ?? this.options.nodeId ?? null,
      controlId: createHash('sha256').update(text).digest('hex').slice(0, CONTROL_ID_HEX),
      messageType: MESSAGE_TYPE,
      sender: this.options.answers.sender,
      receiver: endpoint,
      patientId: request.patientId ?? null,
      parentId: request.parentId ?? null,
      status: 'processing',
      contentType: CONTENT_TYPE,
      body: Buffer.from(text, 'utf8'),
    });
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        const report = await this.transmit(text, request.connectionId);
        await this.store.update(record.id, { status: 'sent', errorCode: null, errorText: null, incrementAttempts: true }).catch((err: unknown) => {
          // The instrument has it: a store hiccup now must not turn into a re-send.
          this.logger.warn('astm send outcome not recorded', { endpoint, id: record.id, ...summarizeError(err) });
        });
        this.metrics.message(endpoint, 'sent', MESSAGE_TYPE);
        this.logger.info('astm message sent', { endpoint, id: record.id, attempts, frames: report.frames, retransmissions: report.retransmissions });
        return { id: record.id, attempts, report };
      } catch (err) {
        const again = attempts <= request.retries && safeToRetry(err) && !this.closing;
        this.logger.warn(again ? 'astm send failed; retrying' : 'astm send failed', { endpoint, id: record.id, attempts, ...summarizeError(err) });
        if (!again) {
          await this.store
            .update(record.id, { status: 'error', errorCode: errorCode(err), errorText: safeErrorText(err), incrementAttempts: true })
            .catch((e: unknown) => this.logger.warn('astm send outcome not recorded', { endpoint, id: record.id, ...summarizeError(e) }));
          this.metrics.message(endpoint, 'errored', MESSAGE_TYPE);
          throw err;
        }
        await this.store.update(record.id, { incrementAttempts: true }, { durability: 'soon' }).catch(() => undefined);
        try {
          await this.sleep(request.retryDelayMs);
        } catch (closed) {
          await this.store.update(record.id, { status: 'error', errorCode: errorCode(err), errorText: safeErrorText(err) }).catch(() => undefined);
          throw closed;
        }
      }
    }
  }

  private async transmit(text: string, connectionId: number | undefined): Promise<AstmSendReport> {
    if (this.client) return this.client.send([text]);
    const connection = await this.pickConnection(connectionId);
    return connection.send([text]);
  }

  /** The preferred connection if open, else the newest open one, else the next to connect within the wait. */
  private pickConnection(preferred: number | undefined): Promise<AstmConnection> {
    const server = this.server!;
    const chosen = preferred !== undefined ? server.connections.get(preferred) : undefined;
    if (chosen?.open) return Promise.resolve(chosen);
    const open = [...server.connections.values()].filter((c) => c.open);
    const newest = open[open.length - 1];
    if (newest) return Promise.resolve(newest);
    // close() may have swept the waits already while this send was still recording its row.
    if (this.closing) return Promise.reject(new AstmClosedError('instrument link is stopping'));
    const waitMs = this.options.connectWaitMs ?? CONNECT_WAIT_MS;
    return new Promise((resolve, reject) => {
      const waiter = {
        timer: undefined as unknown,
        reject: (e: Error) => {
          server.off('connection', onConnection);
          reject(e);
        },
      };
      const onConnection = (info: AstmConnectionInfo): void => {
        const c = server.connections.get(info.id);
        if (!c) return;
        this.timers.clearTimeout(waiter.timer);
        this.sleeps.delete(waiter);
        server.off('connection', onConnection);
        resolve(c);
      };
      waiter.timer = this.timers.setTimeout(() => {
        this.sleeps.delete(waiter);
        waiter.reject(new AstmClosedError(`instrument ${this.options.instrumentId} is not connected (waited ${waitMs} ms)`));
      }, waitMs);
      this.sleeps.add(waiter);
      server.on('connection', onConnection);
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.closing) return Promise.reject(new AstmClosedError('instrument link is stopping'));
    return new Promise((resolve, reject) => {
      const entry = {
        timer: this.timers.setTimeout(() => {
          this.sleeps.delete(entry);
          resolve();
        }, ms),
        reject,
      };
      this.sleeps.add(entry);
    });
  }

  // ------------------------------------------------------------------ misc

  private peerUp(info: AstmConnectionInfo): void {
    this.peerList.set(info.id, {
      connectionId: info.id,
      ...(info.remoteAddress ? { remoteAddress: info.remoteAddress } : {}),
      ...(info.remotePort ? { remotePort: info.remotePort } : {}),
      connectedAt: new Date(this.clock()),
    });
    this.connectionsChanged();
  }

  private peerDown(info: AstmConnectionInfo): void {
    this.peerList.delete(info.id);
    this.connectionsChanged();
  }

  private connectionsChanged(): void {
    const n = this.peerList.size;
    this.metrics.connections(this.options.instrumentId, n);
    if (this.server) {
      const port = this.server.port;
      if (port !== undefined) this.setState({ phase: 'listening', port, connections: n });
    } else this.setState(n > 0 ? { phase: 'connected', connections: n } : { phase: 'retrying' });
  }

  private setState(state: LinkState): void {
    if (this.closing && state.phase !== 'closed') return;
    this.current = state;
    this.emit('state', state);
  }

  private track(p: Promise<unknown>): void {
    this.background.add(p);
    void p.finally(() => this.background.delete(p));
  }
}

/** The first P record's patient ID (by the profile's P fields), for the store's patient key. */
export function firstPatientId(message: AstmMessage, profile: InstrumentProfile): string | null {
  const d = message.delimiters;
  for (const group of message.patients) {
    if (!group.record) continue;
    for (const n of profile.patientIdFields ?? [3, 4, 5]) {
      const v = (fieldValue(group.record, n, d) ?? '').trim();
      if (v !== '') return v;
    }
  }
  return null;
}

function deliveryError(err: IntegrationError): AstmDeliveryError {
  if (err instanceof AstmUnmappedTestError) return { code: 'UNMAPPED_TEST', message: err.message, testCode: err.testCode };
  if (err instanceof AstmUnitMismatchError) return { code: 'UNIT_MISMATCH', message: err.message, testCode: err.testCode, unit: err.unit };
  return { code: err instanceof IntegrationError ? err.code : 'UNKNOWN', message: err instanceof IntegrationError ? err.message : 'normalization failed' };
}

/** The store's error text: the first error, and how many more. The adapters' messages name codes, never content. */
function errorText(errors: readonly AstmDeliveryError[]): string {
  const first = errors[0]!;
  return errors.length > 1 ? `${first.message} (and ${errors.length - 1} more)` : first.message;
}

function safeToRetry(err: unknown): boolean {
  if (!(err instanceof IntegrationError) || !err.retryable) return false;
  // A message that may have arrived is not sent again: the instrument could run its orders twice.
  return (err as { maybeDelivered?: boolean }).maybeDelivered !== true;
}

/** Integration errors name identifiers; anything else is reduced to its class. */
function safeErrorText(err: unknown): string {
  if (err instanceof IntegrationError) return err.message;
  return err instanceof Error ? err.name : 'send failed';
}

/**
 * Orders from a msg, checked at the Node-RED boundary. Messages name the
 * position and property, never the value.
 *
 * @param raw - msg.orders
 * @throws AstmParseError BAD_VALUE
 */
export function checkOrders(raw: unknown): AstmOrderInput[] {
  if (!Array.isArray(raw)) throw new AstmParseError('orders must be an array', 'BAD_VALUE');
  raw.forEach((o: unknown, i) => {
    const at = `orders[${i}]`;
    if (!o || typeof o !== 'object') throw new AstmParseError(`${at} must be an object`, 'BAD_VALUE');
    const order = o as Record<string, unknown>;
    if (typeof order.specimenId !== 'string' || order.specimenId.trim() === '') throw new AstmParseError(`${at}.specimenId must be a non-empty string`, 'BAD_VALUE');
    if (!Array.isArray(order.tests) || order.tests.some((t) => typeof t !== 'string' || t.trim() === '')) {
      throw new AstmParseError(`${at}.tests must be an array of test codes`, 'BAD_VALUE');
    }
    if (order.patient !== undefined && (order.patient === null || typeof order.patient !== 'object')) throw new AstmParseError(`${at}.patient must be an object`, 'BAD_VALUE');
  });
  return raw as AstmOrderInput[];
}

/** A reprocessed message's host queries were answered (or timed out) when it arrived; they are not asked again. */
function withoutQueries(message: AstmMessage): AstmMessage {
  return { ...message, queries: [], records: message.records.filter((r) => r.type !== 'Q') };
}
