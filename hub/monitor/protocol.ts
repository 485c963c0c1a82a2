/**
 * The JSON the monitor API sends, shared by the server (hub/monitor,
 * hub/api/monitor-api.ts) and the browser UI (hub/monitor/ui). Types only.
 *
 * Snapshots carry endpoint names, counts, message types, peer host:port and
 * flow labels: never control ids, patient keys or anything from a body.
 */

export const BUCKET_MS = 10_000;
export const SERIES_BUCKETS = 360;
export const SPARK_MINUTES = 60;

/** Messages counted by their current status. `received` counts every arrival. */
export interface Counters {
  received: number;
  inFlight: number;
  sent: number;
  queued: number;
  filtered: number;
  errored: number;
}

export type EndpointState = 'listening' | 'connected' | 'connecting' | 'disconnected' | 'error' | 'stopped' | 'idle' | 'unknown';

export interface PeerInfo {
  address: string;
  port: number | null;
  since: string | null;
}

export interface EndpointSnapshot {
  /** The store's endpoint name. */
  name: string;
  /** Node-RED type that owns it (`mllp-listener`, `astm-instrument`, `mllp-endpoint`, `store-record`), or `store` when only seen in the store. */
  kind: string;
  direction: 'inbound' | 'outbound' | 'both' | null;
  state: EndpointState;
  /** Short state detail: a port, an error code. */
  detail: string | null;
  port: number | null;
  /** Open connections, when the endpoint holds connections. */
  connections: number | null;
  peers: PeerInfo[];
  /** Messages waiting in the endpoint's own send buffer (outbound pools). */
  pending: number | null;
  flows: { id: string; label: string }[];
  lastMessageAt: string | null;
  /** Messages received in the last hour, by current status. */
  lastHour: Counters;
  /** Per minute, averaged over the last 5 minutes. */
  perMinute: Counters;
  /** Message types seen lately. */
  types: string[];
  /** Arrivals per minute, oldest first, the last one being the current minute. */
  spark: number[];
}

export interface FlowSnapshot {
  id: string;
  label: string;
  disabled: boolean;
  endpoints: string[];
}

export interface QueueSnapshot {
  queue: string;
  backend: string;
  ready: number;
  delayed: number;
  inFlight: number;
  dead: number;
  oldestWaitingAgeMs: number | null;
  /** Settings (names) its consumer waits for before it takes messages; null when it consumes. */
  waitingFor: string[] | null;
}

/** 10-second buckets over the last hour, oldest first. */
export interface SeriesSnapshot {
  bucketMs: number;
  /** Start of the first bucket (epoch ms). */
  start: number;
  received: number[];
  inbound: number[];
  outbound: number[];
  errored: number[];
  /** Receipt to `sent`, from the store's timestamps (ms). */
  latencyP50Ms: (number | null)[];
  latencyP95Ms: (number | null)[];
  /** ACK latency p95 from the metrics registry (ms), when flows report it. */
  ackP95Ms: (number | null)[];
}

export interface MonitorSnapshot {
  seq: number;
  at: string;
  /** When the status counts were last recomputed (they refresh adaptively). */
  countsAt: string | null;
  store: { backend: string; pendingWrites: number | null; up: boolean };
  totals: { lastHour: Counters; perMinute: Counters };
  flows: FlowSnapshot[];
  endpoints: EndpointSnapshot[];
  /** Null when no queue is configured: the UI hides the queue panel. */
  queues: QueueSnapshot[] | null;
  series: SeriesSnapshot;
}

export interface MonitorMe {
  username: string;
  role: string;
  canSeeBodies: boolean;
  canOperate: boolean;
  features: { operations: boolean; bulkReplay: boolean; queues: boolean };
}

/** A message as `/api/v1/messages` lists it (metadata). */
export interface MessageSummary {
  id: string;
  flowId: string | null;
  nodeId: string | null;
  direction: 'inbound' | 'outbound';
  endpoint: string;
  controlId: string | null;
  messageType: string | null;
  sender: string | null;
  receiver: string | null;
  patientKey: string | null;
  status: string;
  contentType: string;
  parentId: string | null;
  attempts: number;
  errorCode: string | null;
  errorText: string | null;
  receivedAt: string;
  updatedAt: string;
  size: number;
  keyId: string;
}

export interface TreeField {
  /** `PID-3`, `R.4`. */
  ref: string;
  name: string | null;
  /** As on the wire (escaped). */
  raw: string;
  /** Repetitions, each a list of components (escapes decoded). */
  reps: string[][];
}

export interface TreeSegment {
  id: string;
  /** 1-based position in the message. */
  index: number;
  description: string | null;
  fields: TreeField[];
}

export interface ParsedTree {
  format: 'hl7' | 'astm';
  segments: TreeSegment[];
  warnings: string[];
}

export interface LifecycleEvent {
  at: string;
  kind: 'received' | 'attempt' | 'ack' | 'status' | 'error' | 'related' | 'audit' | 'queue';
  title: string;
  detail: string | null;
  actor: string | null;
  relatedId: string | null;
}

export interface RelatedMessage extends MessageSummary {
  relation: 'parent' | 'child' | 'same-control-id';
}

export interface MessageDetail {
  message: MessageSummary;
  /** Present only for roles that may read bodies. */
  body: { encoding: 'utf8' | 'base64'; data: string } | null;
  bodyHidden: boolean;
  parsed: ParsedTree | null;
  parseError: string | null;
  lifecycle: LifecycleEvent[];
  related: RelatedMessage[];
  operations: {
    available: boolean;
    allowed: boolean;
    reason: string | null;
    /** The caller may reprocess it now: an inbound message whose receiving node runs (and an operator asking). */
    reprocess?: boolean;
  };
}
