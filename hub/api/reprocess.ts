import { errorCode } from '../../adapters/shared/errors';
import type { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import type { AuditLog, MessageRecord, MessageStore } from '../../adapters/store';

export type ReprocessOutcome =
  | { status: 202 }
  | { status: 404; error: string }
  | { status: 409; error: string; code?: string };

const NOT_REPROCESSABLE = 'only an inbound message whose receiving node is deployed and running can be reprocessed';

/** Whether a stored message can be reprocessed now: inbound, and the node that received it is running. */
export function reprocessable(m: Pick<MessageRecord, 'direction' | 'nodeId'>, reprocessors: ReprocessRegistry | undefined): boolean {
  return m.direction === 'inbound' && reprocessors?.get(m.nodeId) !== undefined;
}

/**
 * Hands a stored inbound message back to the node that received it (see
 * ReprocessRegistry), audited with who and why. The REST API and the
 * monitor both answer with what this returns.
 * @param reason - the operator's reason, already checked non-empty
 */
export async function reprocessStored(
  d: { store: MessageStore; audit: AuditLog; reprocessors: ReprocessRegistry | undefined },
  id: string,
  who: { actor: string; reason: string; ip: string | null; via?: string },
): Promise<ReprocessOutcome> {
  const m = await d.store.get(id, { includeBody: true });
  if (!m) return { status: 404, error: 'no such message' };
  const reprocess = m.direction === 'inbound' ? d.reprocessors?.get(m.nodeId) : undefined;
  if (!reprocess || !m.body) return { status: 409, error: NOT_REPROCESSABLE };
  try {
    await reprocess({ ...m, body: m.body });
  } catch (err) {
    // The class and code only: a parse error's text may quote the message.
    return { status: 409, error: 'the receiving node refused to reprocess it', code: errorCode(err) };
  }
  await d.audit.append({ actor: who.actor, action: 'message.reprocess', target: id, detail: { reason: who.reason, endpoint: m.endpoint, ...(who.via ? { via: who.via } : {}) }, ip: who.ip });
  return { status: 202 };
}
