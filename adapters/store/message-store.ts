import type { Pool } from 'pg';
import type { BodyCipher } from './body-cipher';
import type { MessageRow, RowFilter, StoreBackend, WriteOp } from './backend';
import { decodeCursor, encodeCursor } from './cursor';
import { MessageNotFoundError, StoreError } from './errors';
import { GroupCommitter } from './group-commit';
import { newMessageId } from './message-id';
import { MESSAGE_STATUSES, TERMINAL_STATUSES } from './types';
import type { MessagePage, MessageQuery, MessageRecord, MessageStore, NewMessage, RetentionPolicy, StatusPatch, TimeBucketCount } from './types';

const MAX_PAGE = 500;
const DEFAULT_PAGE = 50;
const MAX_ERROR_TEXT = 1000;
const DAY_MS = 86_400_000;

export interface MessageStoreDeps {
  cipher: BodyCipher;
  patientKey: (patientId: string) => string;
  now?: () => number;
}

/**
 * The store every node and API uses: ids, patient-key hashing, body
 * encryption and group commit, over any {@link StoreBackend}. Nothing above
 * this class sees a sealed body; nothing below it sees an MRN, and nothing
 * below it sees a plaintext body except a backend that seals it with this
 * store's cipher before writing (StoreBackend.sealBodiesWith).
 */
export class EncryptedMessageStore implements MessageStore {
  private readonly committer: GroupCommitter<WriteOp, number>;
  private readonly now: () => number;
  /** The backend seals bodies on its own thread (StoreBackend.sealBodiesWith): rows go to it in plaintext. */
  private readonly backendSeals: boolean;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly db: StoreBackend,
    private readonly deps: MessageStoreDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.backendSeals = db.sealBodiesWith?.(deps.cipher) === true;
    this.committer = new GroupCommitter<WriteOp, number>((ops) => this.db.write(ops), undefined, undefined, this.db.pipelineDepth ?? 1);
  }

  get backend(): 'sqlite' | 'postgres' {
    return this.db.name;
  }
  get audit(): StoreBackend['audit'] {
    return this.db.audit;
  }
  get tokens(): StoreBackend['tokens'] {
    return this.db.tokens;
  }
  /** PostgreSQL only: the pool for state hub processes must share (see StoreBackend.sharedPool); null on SQLite. */
  get sharedPool(): Pool | null {
    return this.db.sharedPool ?? null;
  }
  /** Writes waiting for the next commit (a backpressure signal). */
  get pendingWrites(): number {
    return this.committer.depth;
  }

  patientKey(patientId: string): string {
    return this.deps.patientKey(patientId);
  }

  async insert(m: NewMessage): Promise<MessageRecord> {
    if (m.status !== undefined && !MESSAGE_STATUSES.includes(m.status)) throw new StoreError(`unknown status ${String(m.status)}`, false);
    const now = this.now();
    const id = m.id ?? newMessageId(now);
    const plain = typeof m.body === 'string' ? Buffer.from(m.body, 'utf8') : m.body;
    // Handed to a sealing backend, a caller's buffer is copied: it is read at the next flush, and a socket's frame buffer may be reused by then.
    const { keyId, sealed } = this.backendSeals
      ? { keyId: this.deps.cipher.activeKeyId, sealed: typeof m.body === 'string' ? plain : Buffer.from(plain) }
      : this.deps.cipher.seal(plain, id);
    const row: MessageRow = {
      id,
      flowId: m.flowId ?? null,
      nodeId: m.nodeId ?? null,
      direction: m.direction,
      endpoint: m.endpoint,
      controlId: m.controlId ?? null,
      messageType: m.messageType ?? null,
      sender: m.sender ?? null,
      receiver: m.receiver ?? null,
      patientKey: m.patientId ? this.deps.patientKey(m.patientId) : null,
      status: m.status ?? 'received',
      contentType: m.contentType ?? 'application/octet-stream',
      parentId: m.parentId ?? null,
      attempts: 0,
      errorCode: m.errorCode ?? null,
      errorText: clip(m.errorText),
      receivedAt: m.receivedAt ? m.receivedAt.getTime() : now,
      updatedAt: now,
      size: plain.length,
      keyId,
      body: sealed,
    };
    try {
      await this.committer.submit({ kind: 'insert', row });
    } catch (err) {
      throw new StoreError(`could not store message ${id}`, true, { cause: err });
    }
    return toRecord(row);
  }

  async update(id: string, patch: StatusPatch, opts: { durability?: 'now' | 'soon' } = {}): Promise<void> {
    if (patch.status !== undefined && !MESSAGE_STATUSES.includes(patch.status)) {
      throw new StoreError(`unknown status ${String(patch.status)}`, false);
    }
    const p: StatusPatch = { ...patch };
    if (p.errorText !== undefined) p.errorText = clip(p.errorText);
    let changed: number;
    try {
      changed = await this.committer.submit({ kind: 'update', id, patch: p, at: this.now() }, opts.durability === 'soon');
    } catch (err) {
      throw new StoreError(`could not update message ${id}`, true, { cause: err });
    }
    if (changed === 0) throw new MessageNotFoundError(id);
  }

  async get(id: string, opts: { includeBody?: boolean } = {}): Promise<MessageRecord | null> {
    const row = await this.db.get(id, opts.includeBody === true);
    if (!row) return null;
    const record = toRecord(row);
    if (opts.includeBody && row.body) record.body = this.deps.cipher.open(row.body, row.keyId, row.id);
    return record;
  }

  async search(q: MessageQuery): Promise<MessagePage> {
    const limit = Math.max(1, Math.min(q.limit ?? DEFAULT_PAGE, MAX_PAGE));
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (q.cursor && !after) throw new StoreError('invalid cursor', false);
    const rows = await this.db.search({ ...this.filter(q), after: after ?? undefined, limit: limit + 1 });
    const items = rows.slice(0, limit).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > limit && last ? encodeCursor({ receivedAt: last.receivedAt.getTime(), id: last.id }) : null };
  }

  async count(q: Omit<MessageQuery, 'limit' | 'cursor'> = {}): Promise<number> {
    return this.db.count(this.filter(q));
  }

  async countByTime(q: Omit<MessageQuery, 'limit' | 'cursor'>, bucketMs: number): Promise<TimeBucketCount[]> {
    if (!Number.isInteger(bucketMs) || bucketMs < 1) throw new StoreError(`bucket width must be a positive whole number of ms, got ${bucketMs}`, false);
    return this.db.countByTime(this.filter(q), bucketMs);
  }

  async prune(policy: RetentionPolicy, now: Date = new Date(this.now())): Promise<number> {
    const cutoffs = TERMINAL_STATUSES.flatMap((status) => {
      const days = policy[status];
      return days === undefined ? [] : [{ status, before: now.getTime() - days * DAY_MS }];
    });
    if (cutoffs.length === 0) return 0;
    // Pending writes first, so a message updated a moment ago is judged by its new time.
    await this.committer.drain();
    return this.db.prune(cutoffs);
  }

  async ping(): Promise<void> {
    await this.db.ping();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.committer.close();
      await this.db.close();
    })();
    return this.closing;
  }

  private filter(q: Omit<MessageQuery, 'limit' | 'cursor'>): RowFilter {
    return {
      controlId: q.controlId,
      patientKey: q.patientKey ?? (q.patientId ? this.deps.patientKey(q.patientId) : undefined),
      messageType: q.messageType,
      status: q.status,
      endpoint: q.endpoint,
      direction: q.direction,
      parentId: q.parentId,
      from: q.from?.getTime(),
      to: q.to?.getTime(),
    };
  }
}

function clip(text: string | null | undefined): string | null {
  if (text === undefined || text === null) return null;
  return text.length > MAX_ERROR_TEXT ? text.slice(0, MAX_ERROR_TEXT) : text;
}

/** Field by field rather than rest/spread copies: this runs for every stored message, on the event loop. */
function toRecord(row: Omit<MessageRow, 'body'> & { body?: Buffer }): MessageRecord {
  return {
    id: row.id,
    flowId: row.flowId,
    nodeId: row.nodeId,
    direction: row.direction,
    endpoint: row.endpoint,
    controlId: row.controlId,
    messageType: row.messageType,
    sender: row.sender,
    receiver: row.receiver,
    patientKey: row.patientKey,
    status: row.status,
    contentType: row.contentType,
    parentId: row.parentId,
    attempts: row.attempts,
    errorCode: row.errorCode,
    errorText: row.errorText,
    receivedAt: new Date(row.receivedAt),
    updatedAt: new Date(row.updatedAt),
    size: row.size,
    keyId: row.keyId,
  };
}
