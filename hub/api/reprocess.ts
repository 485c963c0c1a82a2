import { errorCode } from '../../adapters/shared/errors';
import type { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import type { AuditLog, MessageQuery, MessageRecord, MessageStore } from '../../adapters/store';
import { auditableFilter, BadRequest, messageQueryFrom } from './query-params';

export type ReprocessOutcome =
  | { status: 202 }
  | { status: 404; error: string }
  | { status: 409; error: string; code?: string };

const NOT_REPROCESSABLE = 'only an inbound message whose receiving node is deployed and running can be reprocessed';

/** Whether a stored message can be reprocessed now: inbound, and the node that received it is running. */
export function reprocessable(m: Pick<MessageRecord, 'direction' | 'nodeId'>, reprocessors: ReprocessRegistry | undefined): boolean {
  return m.direction === 'inbound' && reprocessors?.get(m.nodeId) !== undefined;
}

/** Most messages one bulk reprocess hands back (narrow the filter for more). */
export const MAX_BULK_REPROCESS = 1000;

type Deps = { store: MessageStore; audit: AuditLog; reprocessors: ReprocessRegistry | undefined };

/** Hand one stored message back to the node that received it; no audit (the callers write theirs). */
async function reprocessOne(d: Deps, m: MessageRecord): Promise<ReprocessOutcome> {
  const reprocess = m.direction === 'inbound' ? d.reprocessors?.get(m.nodeId) : undefined;
  if (!reprocess || !m.body) return { status: 409, error: NOT_REPROCESSABLE };
  try {
    await reprocess({ ...m, body: m.body });
  } catch (err) {
    // The class and code only: a parse error's text may quote the message.
    return { status: 409, error: 'the receiving node refused to reprocess it', code: errorCode(err) };
  }
  return { status: 202 };
}

/**
 * Hands a stored inbound message back to the node that received it (see
 * ReprocessRegistry), audited with who and why. The REST API and the
 * monitor both answer with what this returns.
 * @param reason - the operator's reason, already checked non-empty
 */
export async function reprocessStored(d: Deps, id: string, who: { actor: string; reason: string; ip: string | null; via?: string }): Promise<ReprocessOutcome> {
  const m = await d.store.get(id, { includeBody: true });
  if (!m) return { status: 404, error: 'no such message' };
  const outcome = await reprocessOne(d, m);
  if (outcome.status === 202) {
    await d.audit.append({ actor: who.actor, action: 'message.reprocess', target: id, detail: { reason: who.reason, endpoint: m.endpoint, ...(who.via ? { via: who.via } : {}) }, ip: who.ip });
  }
  return outcome;
}

/**
 * Every inbound message matching `filter` (at most MAX_BULK_REPROCESS,
 * oldest pages first as the store returns them) handed back to its node,
 * e.g. all `error` records of an endpoint once its flow is fixed. One audit
 * entry with the filter (patient key, never an MRN) and the counts.
 * @returns how many were handed back, and how many their node refused or could not take
 */
export async function reprocessMatching(
  d: Deps,
  filter: Omit<MessageQuery, 'limit' | 'cursor'>,
  who: { actor: string; reason: string; ip: string | null; via?: string },
): Promise<{ reprocessed: number; refused: number }> {
  const inbound = { ...filter, direction: 'inbound' as const };
  let reprocessed = 0;
  let refused = 0;
  let cursor: string | undefined;
  do {
    const page = await d.store.search({ ...inbound, limit: 200, cursor });
    for (const summary of page.items) {
      if (reprocessed + refused >= MAX_BULK_REPROCESS) break;
      const m = await d.store.get(summary.id, { includeBody: true });
      if (m && (await reprocessOne(d, m)).status === 202) reprocessed += 1;
      else refused += 1;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && reprocessed + refused < MAX_BULK_REPROCESS);
  await d.audit.append({ actor: who.actor, action: 'message.reprocess-bulk', target: null, detail: { reason: who.reason, filter: auditableFilter(d.store, inbound), reprocessed, refused, ...(who.via ? { via: who.via } : {}) }, ip: who.ip });
  return { reprocessed, refused };
}

/**
 * A bulk reprocess request as both APIs take it: `{ filter, reason, dryRun }`.
 * @throws BadRequest for a missing filter or reason
 * @returns the HTTP status and JSON body to answer with
 */
export async function bulkReprocessRequest(d: Deps, body: unknown, who: { actor: string; ip: string | null; via?: string }): Promise<{ status: number; json: unknown }> {
  const b = (body ?? {}) as { filter?: unknown; reason?: unknown; dryRun?: unknown };
  if (!b.filter || typeof b.filter !== 'object' || Array.isArray(b.filter)) throw new BadRequest('filter must be an object of message search parameters');
  const { limit: _l, cursor: _c, ...filter } = messageQueryFrom(b.filter as Record<string, unknown>);
  if (!Object.values(filter).some((v) => v !== undefined)) throw new BadRequest('a bulk reprocess needs at least one filter');
  if (b.dryRun === true) return { status: 200, json: { count: await d.store.count({ ...filter, direction: 'inbound' }), limit: MAX_BULK_REPROCESS } };
  const reason = b.reason;
  if (typeof reason !== 'string' || reason.trim() === '') throw new BadRequest('reason is required');
  if (reason.length > 500) throw new BadRequest('reason must be at most 500 characters');
  return { status: 202, json: await reprocessMatching(d, filter, { ...who, reason: reason.trim() }) };
}
