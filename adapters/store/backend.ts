import type { Pool } from 'pg';
import type { BodyCipher } from './body-cipher';
import type { AuditLog, Direction, MessageStatus, StatusPatch, TimeBucketCount, TokenRepository } from './types';
import type { CursorPosition } from './cursor';

/**
 * A message as a backend holds it: times in epoch ms, body sealed (or, on
 * its way to a backend that seals bodies itself, plaintext: see
 * StoreBackend.sealBodiesWith).
 */
export interface MessageRow {
  id: string;
  flowId: string | null;
  nodeId: string | null;
  direction: Direction;
  endpoint: string;
  controlId: string | null;
  messageType: string | null;
  sender: string | null;
  receiver: string | null;
  patientKey: string | null;
  status: MessageStatus;
  contentType: string;
  parentId: string | null;
  attempts: number;
  errorCode: string | null;
  errorText: string | null;
  receivedAt: number;
  updatedAt: number;
  size: number;
  keyId: string;
  body?: Buffer;
}

export type WriteOp =
  | { kind: 'insert'; row: MessageRow }
  | { kind: 'update'; id: string; patch: StatusPatch; at: number };

export interface RowFilter {
  controlId?: string;
  patientKey?: string;
  messageType?: string;
  status?: MessageStatus;
  endpoint?: string;
  direction?: Direction;
  parentId?: string;
  from?: number;
  to?: number;
}

export interface RowQuery extends RowFilter {
  after?: CursorPosition;
  limit: number;
}

/** What a database must offer; encryption, hashing and batching live above it. */
export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  readonly audit: AuditLog;
  readonly tokens: TokenRepository;
  init(): Promise<void>;
  /**
   * Batches `write` may have outstanding at once (default 1). More than one
   * only where batches are applied in the order `write` was called.
   */
  readonly pipelineDepth?: number;
  /**
   * PostgreSQL only: the pool, for state that hub processes sharing the
   * store must share too (opt-outs, sent marks, webhook replay guards).
   */
  readonly sharedPool?: Pool;
  /**
   * Optional: seal bodies on a thread of the backend's own, off the event
   * loop. Asked once, by the store, before any write. When it returns true,
   * insert rows carry the plaintext body and `keyId` = the cipher's active
   * key, and the backend seals each body with `cipher` (AAD = row id, as
   * BodyCipher.seal does) before anything is written. False: rows come
   * sealed, as without this method.
   */
  sealBodiesWith?(cipher: BodyCipher): boolean;
  /** All ops in one transaction, in order; returns the rows each op changed. */
  write(ops: WriteOp[]): Promise<number[]> | number[];
  get(id: string, includeBody: boolean): Promise<MessageRow | null>;
  search(query: RowQuery): Promise<MessageRow[]>;
  count(filter: RowFilter): Promise<number>;
  /** Counts per bucket of `bucketMs` (floor(received_at / bucketMs)); empty buckets left out. */
  countByTime(filter: RowFilter, bucketMs: number): Promise<TimeBucketCount[]>;
  /** Deletes rows in `status` last updated before `before` (epoch ms). */
  prune(cutoffs: { status: MessageStatus; before: number }[]): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Builds a WHERE clause shared by both SQL dialects; `param` renders the n-th placeholder. */
export function buildWhere(filter: RowFilter, param: (n: number) => string, after?: CursorPosition): { sql: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  const add = (column: string, op: string, value: unknown): void => {
    values.push(value);
    clauses.push(`${column} ${op} ${param(values.length)}`);
  };
  if (filter.controlId !== undefined) add('control_id', '=', filter.controlId);
  if (filter.patientKey !== undefined) add('patient_key', '=', filter.patientKey);
  if (filter.messageType !== undefined) add('message_type', '=', filter.messageType);
  if (filter.status !== undefined) add('status', '=', filter.status);
  if (filter.endpoint !== undefined) add('endpoint', '=', filter.endpoint);
  if (filter.direction !== undefined) add('direction', '=', filter.direction);
  if (filter.parentId !== undefined) add('parent_id', '=', filter.parentId);
  if (filter.from !== undefined) add('received_at', '>=', filter.from);
  if (filter.to !== undefined) add('received_at', '<', filter.to);
  if (after) {
    // A row-value comparison, not `received_at < x OR (received_at = x AND id < y)`: once SQLite has
    // planner statistics it runs that OR as a MULTI-INDEX OR (80 ms a page at 1M rows instead of
    // 0.3 ms, bench:search). Both SQLite (3.15+) and PostgreSQL use it as an index range.
    values.push(after.receivedAt, after.id);
    const n = values.length;
    clauses.push(`(received_at, id) < (${param(n - 1)}, ${param(n)})`);
  }
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

export const MESSAGE_COLUMNS =
  'id, flow_id, node_id, direction, endpoint, control_id, message_type, sender, receiver, patient_key, status, content_type, parent_id, attempts, error_code, error_text, received_at, updated_at, size, key_id';

/** Maps a snake_case row from either driver onto MessageRow. */
export function rowFromDb(r: Record<string, unknown>): MessageRow {
  const row: MessageRow = {
    id: r.id as string,
    flowId: (r.flow_id as string | null) ?? null,
    nodeId: (r.node_id as string | null) ?? null,
    direction: r.direction as Direction,
    endpoint: r.endpoint as string,
    controlId: (r.control_id as string | null) ?? null,
    messageType: (r.message_type as string | null) ?? null,
    sender: (r.sender as string | null) ?? null,
    receiver: (r.receiver as string | null) ?? null,
    patientKey: (r.patient_key as string | null) ?? null,
    status: r.status as MessageStatus,
    contentType: r.content_type as string,
    parentId: (r.parent_id as string | null) ?? null,
    attempts: Number(r.attempts),
    errorCode: (r.error_code as string | null) ?? null,
    errorText: (r.error_text as string | null) ?? null,
    receivedAt: Number(r.received_at),
    updatedAt: Number(r.updated_at),
    size: Number(r.size),
    keyId: r.key_id as string,
  };
  if (r.body !== undefined && r.body !== null) row.body = r.body as Buffer;
  return row;
}
