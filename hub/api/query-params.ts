import type { Direction, MessageQuery, MessageStatus, MessageStore } from '../../adapters/store';
import { MESSAGE_STATUSES } from '../../adapters/store';

export class BadRequest extends Error {}

/** Maps `/api/v1/messages` query parameters onto a store query, rejecting what does not fit. */
export function messageQueryFrom(q: Record<string, unknown>): MessageQuery {
  const s = (name: string): string | undefined => {
    const v = q[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > 256) throw new BadRequest(`query parameter ${name} must be one string`);
    return v;
  };
  const date = (name: string): Date | undefined => {
    const v = s(name);
    if (v === undefined) return undefined;
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) throw new BadRequest(`query parameter ${name} must be an ISO 8601 time`);
    return d;
  };
  const status = s('status');
  if (status !== undefined && !MESSAGE_STATUSES.includes(status as MessageStatus)) throw new BadRequest(`status must be one of ${MESSAGE_STATUSES.join(', ')}`);
  const direction = s('direction');
  if (direction !== undefined && direction !== 'inbound' && direction !== 'outbound') throw new BadRequest('direction must be inbound or outbound');
  const limitText = s('limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) throw new BadRequest('limit must be an integer from 1 to 500');
  return {
    controlId: s('controlId'),
    patientId: s('patientId'),
    messageType: s('type'),
    status: status as MessageStatus | undefined,
    endpoint: s('endpoint'),
    direction: direction as Direction | undefined,
    parentId: s('parentId'),
    from: date('from'),
    to: date('to'),
    limit,
    cursor: s('cursor'),
  };
}

/** A search filter as the audit log may keep it: the patient key instead of the MRN, dates as ISO text. */
export function auditableFilter(store: MessageStore, f: Omit<MessageQuery, 'limit' | 'cursor'>): Record<string, unknown> {
  const { patientId, from, to, ...rest } = f;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (patientId) out.patientKey = store.patientKey(patientId);
  if (from) out.from = from.toISOString();
  if (to) out.to = to.toISOString();
  return out;
}
