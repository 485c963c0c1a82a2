import type { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import type { Logger } from '../../adapters/shared/logger';
import type { MessageQuery, MessageStore } from '../../adapters/store';
import type { MonitorApiDeps } from '../api/monitor-api';
import type { TokenService } from '../auth/token-service';
import type { EndpointState, PeerInfo } from './protocol';

/**
 * What the monitor's operations (replay, edit-and-replay, discard) call. The
 * queue issue wires an implementation; until then the UI shows the buttons
 * disabled. Audit entries are written by the monitor API, not by this.
 */
export interface MessageOperations {
  /**
   * Send a stored message again (from its queue or dead letters).
   * @param id - hub message id
   * @param reason - the operator's reason, already recorded in the audit log
   * @param editedBody - a corrected body (edit-and-replay); the original otherwise
   * @param by - user name, for the queue's own history
   */
  replay(id: string, reason: string, editedBody?: Buffer, by?: string): Promise<void>;
  /**
   * Drop a message for good (e.g. a dead letter nobody wants).
   * @param id - hub message id
   * @param reason - the operator's reason
   * @param by - user name
   */
  discard(id: string, reason: string, by?: string): Promise<void>;
  /**
   * Bulk replay of every message matching a filter. Optional: without it the
   * monitor replays page by page through `replay`, up to its bulk limit.
   * @returns how many were replayed
   */
  replayMatching?(filter: Omit<MessageQuery, 'limit' | 'cursor'>, reason: string, by?: string): Promise<number>;
  /** Queue history of one message (failed attempts, replays), for the lifecycle view. */
  history?(id: string): Promise<OperationHistoryEntry[]>;
}

/** Shaped after the queue's HistoryEntry; no message content. */
export type OperationHistoryEntry =
  | { event: 'failed'; at: Date; attempt: number; code: string; message: string | null }
  | { event: 'replayed'; at: Date; edited: boolean; by: string | null }
  | { event: 'dead-lettered'; at: Date; reason: string };

/** Queue depth as the queue adapters' `stats()` reports it (structurally the same as QueueStats). */
export interface QueueDepth {
  queue: string;
  backend: string;
  ready: number;
  delayed: number;
  inFlight: number;
  dead: number;
  oldestWaitingAgeMs: number | null;
  /** Settings (names) the queue's consumer waits for before it takes messages; absent or null when it consumes. */
  waitingFor?: string[] | null;
}

export interface QueueStatusProvider {
  list(): Promise<QueueDepth[]>;
}

/** One endpoint as the running flows describe it. */
export interface ConfiguredEndpoint {
  name: string;
  kind: string;
  direction: 'inbound' | 'outbound' | 'both' | null;
  state: EndpointState;
  detail: string | null;
  port: number | null;
  connections: number | null;
  peers: PeerInfo[];
  pending: number | null;
  flowIds: string[];
}

export interface ConfiguredFlow {
  id: string;
  label: string;
  disabled: boolean;
}

/** Where the monitor learns which flows and endpoints exist and their connection state. */
export interface EndpointSource {
  list(): { flows: ConfiguredFlow[]; endpoints: ConfiguredEndpoint[] };
}

/** The part of a prom-client Registry the monitor reads (ACK latency histogram). */
export interface MetricsSource {
  getSingleMetric(name: string): { get(): Promise<{ values: { labels: Record<string, string | number | undefined>; value: number; metricName?: string }[] }> } | undefined;
}

export interface MonitorDeps {
  store: MessageStore;
  tokens: TokenService;
  endpoints?: EndpointSource;
  queues?: QueueStatusProvider;
  operations?: MessageOperations;
  /** Alert rule states and history for `GET /api/v1/monitor/alerts` (hub/alerts). */
  alerts?: MonitorApiDeps['alerts'];
  metrics?: MetricsSource;
  /** Session lifetime, for the cookie's Max-Age. */
  sessionTtlMs?: number;
  /** Where the bundled UI lives; default `<install>/dist/monitor`. */
  assetsDir?: string;
  logger?: Logger;
  /** Snapshot period; default 1000 ms. */
  tickMs?: number;
  now?: () => number;
  /** Receiving nodes that can run a stored message through their flow again (the detail's Reprocess). */
  reprocessors?: ReprocessRegistry;
}
