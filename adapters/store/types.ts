import type { Pool } from 'pg';

/** The message store's vocabulary, shared by every backend. */

export type Direction = 'inbound' | 'outbound';

/** Lifecycle: received → processing → sent | queued | filtered | error. */
export const MESSAGE_STATUSES = ['received', 'processing', 'sent', 'queued', 'filtered', 'error'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Statuses that end a message's life here; only these are ever pruned. */
export const TERMINAL_STATUSES: readonly MessageStatus[] = ['sent', 'filtered', 'error'];

export interface NewMessage {
  /** Hub message id; generated when absent. Also the idempotency key downstream. */
  id?: string;
  flowId?: string | null;
  nodeId?: string | null;
  direction: Direction;
  /** Logical endpoint name, e.g. `lis-mllp` or `emr-fhir`. */
  endpoint: string;
  /** MSH-10 or the protocol's equivalent. */
  controlId?: string | null;
  /** e.g. `ORU^R01`, `ASTM`, `837P`. */
  messageType?: string | null;
  sender?: string | null;
  receiver?: string | null;
  /** The MRN as received. Only its keyed hash is stored. */
  patientId?: string | null;
  status?: MessageStatus;
  contentType?: string;
  /** Related message (the message an ACK answers, the original of a replay). */
  parentId?: string | null;
  errorCode?: string | null;
  errorText?: string | null;
  receivedAt?: Date;
  body: Buffer | string;
}

export interface MessageRecord {
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
  receivedAt: Date;
  updatedAt: Date;
  size: number;
  keyId: string;
  /** Decrypted body, only when asked for. */
  body?: Buffer;
}

export interface StatusPatch {
  status?: MessageStatus;
  errorCode?: string | null;
  errorText?: string | null;
  /** Adds to the attempt counter (an outbound try). */
  incrementAttempts?: boolean;
}

export interface MessageQuery {
  controlId?: string;
  /** An MRN; the store hashes it before searching. */
  patientId?: string;
  patientKey?: string;
  messageType?: string;
  status?: MessageStatus;
  endpoint?: string;
  direction?: Direction;
  parentId?: string;
  from?: Date;
  to?: Date;
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface MessagePage {
  items: MessageRecord[];
  nextCursor: string | null;
}

/** Days to keep messages in each terminal status; absent statuses are kept forever. */
export type RetentionPolicy = Partial<Record<MessageStatus, number>>;

export interface AuditEntry {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  detail: Record<string, unknown> | null;
  ip: string | null;
}

export interface NewAuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  detail?: Record<string, unknown> | null;
  ip?: string | null;
  at?: Date;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  /** Entries about one object (a message id, a token id). */
  target?: string;
  before?: number;
  limit?: number;
}

export type TokenKind = 'api' | 'session';

export interface TokenRecord {
  id: string;
  name: string;
  kind: TokenKind;
  subject: string;
  role: string;
  createdAt: Date;
  createdBy: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface NewToken {
  id: string;
  name: string;
  kind: TokenKind;
  subject: string;
  role: string;
  hash: string;
  createdBy: string;
  expiresAt?: Date | null;
}

export interface AuditLog {
  append(entry: NewAuditEntry): Promise<void>;
  list(query?: AuditQuery): Promise<AuditEntry[]>;
}

export interface TokenRepository {
  insert(token: NewToken): Promise<void>;
  findByHash(hash: string): Promise<TokenRecord | null>;
  list(kind?: TokenKind): Promise<TokenRecord[]>;
  revoke(id: string, at?: Date): Promise<boolean>;
  /** Drops expired sessions and long-revoked tokens. */
  purgeExpired(now?: Date): Promise<number>;
}

/** Messages received in one time bucket (bucket = floor(receivedAt / bucketMs)). */
export interface TimeBucketCount {
  bucket: number;
  total: number;
  inbound: number;
  errored: number;
}

export interface MessageStore {
  readonly backend: 'sqlite' | 'postgres';
  /** PostgreSQL only: the pool for state hub processes must share; null or absent otherwise. */
  readonly sharedPool?: Pool | null;
  readonly audit: AuditLog;
  readonly tokens: TokenRepository;
  /**
   * Records a message. Resolves only once the record is durably committed,
   * so a caller may acknowledge the sender after it resolves.
   * @param message - metadata and raw body; the body is encrypted before it is written
   */
  insert(message: NewMessage): Promise<MessageRecord>;
  /**
   * @param id - hub message id; resolves once durable
   * @param opts - `durability: 'soon'` when nobody waits on this write before
   *   answering a sender: it joins the next commit (within ~25 ms) instead of
   *   forcing one of its own
   */
  update(id: string, patch: StatusPatch, opts?: { durability?: 'now' | 'soon' }): Promise<void>;
  get(id: string, opts?: { includeBody?: boolean }): Promise<MessageRecord | null>;
  search(query: MessageQuery): Promise<MessagePage>;
  count(query?: Omit<MessageQuery, 'limit' | 'cursor'>): Promise<number>;
  /**
   * Counts per time bucket in one query (the monitor's charts), buckets with
   * no message left out. Optional: a store without it is counted bucket by bucket.
   * @param query - filter; `from` and `to` bound the buckets
   * @param bucketMs - bucket width
   */
  countByTime?(query: Omit<MessageQuery, 'limit' | 'cursor'>, bucketMs: number): Promise<TimeBucketCount[]>;
  /** Deletes terminal messages older than the policy allows; returns how many. */
  prune(policy: RetentionPolicy, now?: Date): Promise<number>;
  /** The keyed hash the store uses for an MRN (for building queries elsewhere). */
  patientKey(patientId: string): string;
  ping(): Promise<void>;
  /** Flushes pending writes and closes; safe to call twice. */
  close(): Promise<void>;
}
