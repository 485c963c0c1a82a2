import type { Node, NodeDef } from 'node-red';
import type { AstmConnectionInfo, AstmHostQuery, AstmMessage, AstmOrderInput, FhirBundle, FhirObservation, LabResult } from '../../adapters/astm';
import type { SendOutcome } from './analyzer-link';

/** Editor fields of the astm-instrument config node. Numbers are strings so flows can say `${HUB_ASTM_PORT}`. */
export interface AstmInstrumentDef extends NodeDef {
  /** The hub's name for the instrument: store endpoint, FHIR device, OBX-18. */
  instrumentId: string;
  /** `server`: the analyzer (or a terminal server in client mode) connects to the hub. `client`: the hub connects to a terminal server. `serial`: the hub opens an RS-232 port. */
  mode: 'server' | 'client' | 'serial';
  /** Bind address (server) or terminal server host (client). */
  host: string;
  port: string;
  /** IPs, separated by commas or white space (server mode); empty accepts any peer. */
  allowedPeers: string;
  maxConnections: string;
  /** Serial mode: the device (`/dev/ttyUSB0`, `/dev/serial/by-id/...`, `COM3`). */
  path?: string;
  /** Serial mode: 1200-115200, blank 9600. */
  baudRate?: string;
  /** Serial mode: 7 or 8, blank 8. */
  dataBits?: string;
  /** Serial mode: none, even or odd, blank none. */
  parity?: string;
  /** Serial mode: 1 or 2, blank 1. */
  stopBits?: string;
  /** Serial mode: RTS/CTS hardware flow control (a checkbox). */
  rtscts?: boolean | string;
  /** `immulite-2000`, `cobas-e411`, `architect-i1000` or `custom`. */
  profile: string;
  /** custom: the whole instrument profile; built-in: keys that override it (`tests` merged by code). */
  profileJson: string;
  /** Overrides the profile's clock offset when set (`Z`, `+01:00`). */
  utcOffset: string;
  /** H.5 of what the hub sends (orders, query answers). */
  senderId: string;
  framing: '' | 'record' | 'message';
  encoding: '' | 'auto' | 'utf8' | 'latin1';
  establishTimeoutMs: string;
  replyTimeoutMs: string;
  receiverTimeoutMs: string;
  busyRetryMs: string;
  connectTimeoutMs: string;
  duplicateWindowMs: string;
  /** How long the flow has to answer a host query before the hub answers "no information". */
  queryTimeoutMs: string;
  /** Blank: the profile's dialect default (IMMULITE 2, cobas e411 3). */
  querySpecimenComponent: string;
}

/** One normalization or link problem, for the error output. Names codes and positions, never content. */
export interface AstmDeliveryError {
  /** `UNMAPPED_TEST`, `UNIT_MISMATCH`, `PARSE`, `BUILD`, `TIMEOUT`, `INCOMPLETE`, ... */
  code: string;
  message: string;
  /** The instrument test code, for mapping problems. */
  testCode?: string;
  /** The unit the instrument sent, for unit mismatches. */
  unit?: string;
  /** Incomplete messages: why they were discarded. */
  reason?: string;
}

/** A host query waiting for the flow's answer. */
export interface PendingQueryHandle {
  /** Opaque id: msg._astmQuery.id. */
  id: string;
  query: AstmHostQuery;
}

/** Everything one received E1394 message became. Carries PHI: msg material, never log material. */
export interface AstmDelivery {
  /** Hub message id of the stored raw message. */
  id: string;
  instrumentId: string;
  /** Stored control id: a prefix of `key`. */
  controlId: string;
  /** SHA-256 of the text (the adapter's idempotency key). */
  key: string;
  text: string;
  /** Record texts, in arrival order. */
  records: string[];
  message: AstmMessage;
  connection: AstmConnectionInfo;
  receivedAt: string;
  patientId?: string;
  results: LabResult[];
  qc: LabResult[];
  errors: AstmDeliveryError[];
  /** Present when `results` is not empty. */
  fhir?: FhirBundle;
  observations?: FhirObservation[];
  oru?: string;
  queries: PendingQueryHandle[];
}

/** What astm-in registers with the config node. */
export interface AstmInConsumer {
  delivery(d: AstmDelivery): void;
  /** A problem outside any stored message (a discarded incomplete message) or a host query the flow did not answer in time. */
  problem(p: { error: AstmDeliveryError; hubMessageId?: string; queryId?: string }): void;
}

/** msg._astmQuery: which instrument and which pending query a msg answers. Opaque to flows. */
export interface AstmQueryHandle {
  instrument: string;
  id: string;
  hubMessageId: string;
}

/** One open connection, for the monitor. Identity only. */
export interface AstmPeer {
  connectionId: number;
  remoteAddress?: string;
  remotePort?: number;
  connectedAt: Date;
}

/** The face astm-in and astm-out (and a future monitor) see. */
export interface AstmInstrumentNode extends Node {
  readonly instrumentId: string;
  /**
   * The first registration starts the transport (listen or connect).
   * @param user - the astm-in or astm-out node; gets connection status
   * @param consumer - astm-in only: receives every delivery
   */
  register(user: Node, consumer?: AstmInConsumer): void;
  /** The last deregistration closes the transport. */
  deregister(user: Node): Promise<void>;
  /** Sets the connection status on one user again (after a node showed its own status). */
  refreshStatus(user: Node): void;
  /**
   * Order download in a new E1381 session, with retries.
   * @param input - orders, or E1394 text
   */
  sendOrders(input: readonly AstmOrderInput[] | string, opts: { parentId?: string | null; retries: number; retryDelayMs: number; flowId?: string | null; nodeId?: string | null }): Promise<SendOutcome>;
  /**
   * Answer a pending host query.
   * @param queryId - msg._astmQuery.id
   */
  answerQuery(queryId: string, orders: readonly AstmOrderInput[], opts?: { flowId?: string | null; nodeId?: string | null }): Promise<SendOutcome>;
  connectionCount(): number;
  peers(): AstmPeer[];
  /** Server mode: the bound port once listening (port 0 picks one). */
  boundPort(): number | undefined;
  /** Resolves once listening (server) or started (client); rejects with the start error. */
  whenStarted(): Promise<void>;
}
