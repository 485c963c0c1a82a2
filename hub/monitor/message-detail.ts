import type { AuditEntry, AuditLog, AuditQuery, MessageRecord, MessageStore } from '../../adapters/store';
import { messageJson } from '../api/serialize';
import { parseTree } from './parse-tree';
import type { LifecycleEvent, MessageDetail, MessageSummary, RelatedMessage } from './protocol';
import type { MessageOperations } from './types';

const MAX_CHILDREN = 50;
const MAX_SAME_CONTROL_ID = 20;
const AUDIT_SCAN = 200;
/** Audit actions that name a message as their target. */
const MESSAGE_ACTIONS = ['message.view-body', 'message.replay', 'message.discard'];

export interface DetailOptions {
  /** Decrypt and include the body (and its parsed tree): only for roles with `messages.body`. */
  withBody: boolean;
  /** Whether the caller's role may replay and discard. */
  mayOperate: boolean;
}

/**
 * Everything the detail view shows for one message: metadata, the body and
 * its parsed tree (when allowed), the related messages (the one it answers or
 * replays, its ACKs and children, others with the same control id) and a
 * lifecycle assembled from the record, those relatives, the queue's history
 * and the audit log.
 */
export async function messageDetail(
  deps: { store: MessageStore; operations?: MessageOperations },
  id: string,
  opts: DetailOptions,
): Promise<MessageDetail | null> {
  const { store } = deps;
  const record = await store.get(id, { includeBody: opts.withBody });
  if (!record) return null;
  const { body: _b, ...meta } = messageJson(record);
  const message = meta as unknown as MessageSummary;

  let parsed: MessageDetail['parsed'] = null;
  let parseError: string | null = null;
  if (record.body) {
    try {
      parsed = parseTree(record.body, record.contentType, record.messageType);
    } catch (err) {
      // Reason codes only: a parser's message could quote the content.
      const e = err as { reason?: unknown; code?: unknown; name?: unknown };
      parseError = String(e.reason ?? e.code ?? e.name ?? 'unparseable');
    }
  }

  const related = await relatedOf(store, record);
  const lifecycle = await lifecycleOf(deps, record, related);
  const available = deps.operations !== undefined;
  return {
    message,
    body: record.body ? (messageJson(record).body as MessageDetail['body']) : null,
    bodyHidden: !opts.withBody,
    parsed,
    parseError,
    lifecycle,
    related,
    operations: {
      available,
      allowed: opts.mayOperate,
      reason: !available ? 'Replay and discard require the queue, which is not configured yet.' : !opts.mayOperate ? 'Only operators may replay or discard.' : null,
    },
  };
}

async function relatedOf(store: MessageStore, m: MessageRecord): Promise<RelatedMessage[]> {
  const out: RelatedMessage[] = [];
  const seen = new Set<string>([m.id]);
  const push = (r: MessageRecord, relation: RelatedMessage['relation']): void => {
    if (seen.has(r.id)) return;
    seen.add(r.id);
    out.push({ ...(messageJson(r) as unknown as MessageSummary), relation });
  };
  if (m.parentId) {
    const parent = await store.get(m.parentId);
    if (parent) push(parent, 'parent');
  }
  for (const child of (await store.search({ parentId: m.id, limit: MAX_CHILDREN })).items) push(child, 'child');
  if (m.controlId) {
    for (const same of (await store.search({ controlId: m.controlId, limit: MAX_SAME_CONTROL_ID })).items) push(same, 'same-control-id');
  }
  return out.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt));
}

async function lifecycleOf(deps: { store: MessageStore; operations?: MessageOperations }, m: MessageRecord, related: RelatedMessage[]): Promise<LifecycleEvent[]> {
  const events: LifecycleEvent[] = [];
  const ev = (at: Date | string, kind: LifecycleEvent['kind'], title: string, detail: string | null = null, actor: string | null = null, relatedId: string | null = null): void => {
    events.push({ at: typeof at === 'string' ? at : at.toISOString(), kind, title, detail, actor, relatedId });
  };

  ev(m.receivedAt, 'received', m.direction === 'inbound' ? `Received on ${m.endpoint}` : `Recorded for ${m.endpoint} (outbound)`, [m.messageType, m.sender && `from ${m.sender}`, m.receiver && `to ${m.receiver}`].filter(Boolean).join(' · ') || null);
  for (const r of related) {
    if (r.relation === 'parent') {
      ev(m.receivedAt, 'related', `Follows ${r.messageType ?? 'message'} ${r.controlId ?? ''}`.trim(), `${r.endpoint}, ${r.status}`, null, r.id);
    } else if (r.relation === 'child') {
      const isAck = /^ACK/i.test(r.messageType ?? '');
      ev(r.receivedAt, isAck ? 'ack' : 'related', isAck ? `ACK ${r.direction === 'inbound' ? 'received' : 'sent'}` : `Related ${r.messageType ?? 'message'} (${r.status})`, [r.errorCode, r.controlId && `control id ${r.controlId}`].filter(Boolean).join(' · ') || null, null, r.id);
    } else {
      ev(r.receivedAt, 'related', `Same control id: ${r.direction} ${r.messageType ?? 'message'} on ${r.endpoint}`, `${r.status}${r.errorCode ? ` (${r.errorCode})` : ''}`, null, r.id);
    }
  }
  if (m.attempts > 0) ev(m.updatedAt, 'attempt', `${m.attempts} delivery attempt${m.attempts === 1 ? '' : 's'}`, null);

  if (deps.operations?.history) {
    try {
      for (const h of await deps.operations.history(m.id)) {
        if (h.event === 'failed') ev(h.at, 'attempt', `Attempt ${h.attempt} failed: ${h.code}`, h.message);
        else if (h.event === 'replayed') ev(h.at, 'queue', h.edited ? 'Replayed with an edited body' : 'Replayed', null, h.by);
        else ev(h.at, 'queue', 'Dead-lettered', h.reason);
      }
    } catch {
      // The queue's history is a bonus; the store's record stands on its own.
    }
  }

  for (const a of await auditFor(deps.store.audit, m.id)) {
    const reason = typeof a.detail?.reason === 'string' ? a.detail.reason : null;
    const title =
      a.action === 'message.view-body' ? 'Body viewed' : a.action === 'message.replay' ? (a.detail?.edited ? 'Edit-and-replay requested' : 'Replay requested') : a.action === 'message.discard' ? 'Discard requested' : a.action;
    const outcome = typeof a.detail?.outcome === 'string' && a.detail.outcome !== 'ok' ? ` (${a.detail.outcome})` : '';
    ev(a.at, 'audit', title + outcome, reason, a.actor);
  }

  const terminal = m.status === 'error' ? 'error' : 'status';
  ev(m.updatedAt, terminal, `Status: ${m.status}`, [m.errorCode, m.errorText].filter(Boolean).join(': ') || null);
  return events.sort((a, b) => a.at.localeCompare(b.at));
}

/**
 * Audit entries naming this message. Asks the log for `target` (a filter the
 * audit log may not support yet: see the proposed AuditQuery.target) and
 * also scans the newest entries of the message actions, keeping only the
 * matches either way.
 */
async function auditFor(audit: AuditLog, id: string): Promise<AuditEntry[]> {
  const queries: AuditQuery[] = [{ target: id, limit: AUDIT_SCAN } as AuditQuery, ...MESSAGE_ACTIONS.map((action) => ({ action, limit: AUDIT_SCAN }))];
  const byId = new Map<number, AuditEntry>();
  for (const q of queries) {
    for (const e of await audit.list(q)) if (e.target === id) byId.set(e.id, e);
  }
  return [...byId.values()];
}
