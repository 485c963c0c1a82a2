import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { DeadLetter, DeadLetterFilter, DeadLetterReason, MessageQueue } from '../../adapters/queue';
import { DeadLetterNotFoundError } from '../../adapters/queue';
import type { AuditLog } from '../../adapters/store/types';
import { IntegrationError } from '../../adapters/shared/errors';
import { authenticate, requirePermission } from '../auth/http-auth';
import { can } from '../auth/permissions';
import type { TokenService } from '../auth/token-service';

export interface QueuesRouterDeps {
  queue: MessageQueue;
  audit: AuditLog;
  /** Queues the hub has declared; only these are served. */
  queueNames: () => string[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
  h(req, res).catch(next);
};

const REASONS: readonly DeadLetterReason[] = ['permanent', 'max-attempts', 'deadline', 'redrive'];

function deadLetterJson(d: DeadLetter): Record<string, unknown> {
  const lastError = d.lastError ? { ...d.lastError, at: d.lastError.at.toISOString() } : null;
  return {
    id: d.id,
    queue: d.queue,
    key: d.key,
    headers: d.headers,
    attempts: d.attempts,
    firstEnqueuedAt: d.firstEnqueuedAt.toISOString(),
    enqueuedAt: d.enqueuedAt.toISOString(),
    deadAt: d.deadAt.toISOString(),
    reason: d.reason,
    lastError,
    history: d.history.map((h) => ({ ...h, at: h.at.toISOString() })),
    size: d.size,
  };
}

function dateParam(v: unknown, name: string): Date | undefined {
  if (v === undefined || v === '') return undefined;
  const d = new Date(String(v));
  if (typeof v !== 'string' || Number.isNaN(d.getTime())) throw new HttpError(400, `${name} must be an ISO date`);
  return d;
}

function filterFrom(src: Record<string, unknown>): DeadLetterFilter {
  const f: DeadLetterFilter = {};
  if (src.reason !== undefined) {
    if (!REASONS.includes(src.reason as DeadLetterReason)) throw new HttpError(400, `reason must be one of ${REASONS.join(', ')}`);
    f.reason = src.reason as DeadLetterReason;
  }
  if (src.errorCode !== undefined) {
    if (typeof src.errorCode !== 'string' || !/^[\w.-]{1,64}$/.test(src.errorCode)) throw new HttpError(400, 'errorCode must be an error code');
    f.errorCode = src.errorCode;
  }
  if (src.key !== undefined) {
    if (typeof src.key !== 'string' || src.key.length > 256) throw new HttpError(400, 'key must be a string');
    f.key = src.key;
  }
  const from = dateParam(src.from, 'from');
  const to = dateParam(src.to, 'to');
  if (from) f.from = from;
  if (to) f.to = to;
  return f;
}

function requireReason(body: unknown): string {
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  if (typeof reason !== 'string' || reason.trim() === '') throw new HttpError(400, 'reason is required');
  if (reason.length > 500) throw new HttpError(400, 'reason must be at most 500 characters');
  return reason.trim();
}

/**
 * Queue depth and dead-letter handling, mounted under `/api/v1` after
 * authentication (needs `req.principal` and a parsed JSON body). Listing
 * needs `messages.read`; bodies `messages.body` (audited); replay and
 * discard `messages.replay` with a reason (audited).
 */
export function queuesRouter(d: QueuesRouterDeps): Router {
  const r = Router();
  const known = (name: string): string => {
    if (!d.queueNames().includes(name)) throw new HttpError(404, 'no such queue');
    return name;
  };

  r.get(
    '/queues',
    requirePermission('messages.read'),
    wrap(async (_req, res) => {
      const items = await Promise.all(d.queueNames().map((q) => d.queue.stats(q)));
      res.json({ items });
    }),
  );

  r.get(
    '/dead-letters',
    requirePermission('messages.read'),
    wrap(async (req, res) => {
      const q = req.query as Record<string, unknown>;
      if (typeof q.queue !== 'string') throw new HttpError(400, 'queue is required');
      const queue = known(q.queue);
      const limit = q.limit === undefined ? undefined : Number(q.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) throw new HttpError(400, 'limit must be an integer from 1 to 500');
      if (q.cursor !== undefined && typeof q.cursor !== 'string') throw new HttpError(400, 'cursor must be a string');
      const page = await d.queue.listDeadLetters(queue, { ...filterFrom(q), ...(limit ? { limit } : {}), ...(q.cursor ? { cursor: q.cursor as string } : {}) });
      res.json({ items: page.items.map(deadLetterJson), nextCursor: page.nextCursor });
    }),
  );

  r.get(
    '/dead-letters/:queue/:id',
    requirePermission('messages.read'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const queue = known(String(req.params.queue));
      const id = String(req.params.id);
      const wantBody = req.query.includeBody === 'true';
      if (wantBody && !can(p.role, 'messages.body')) {
        res.status(403).json({ error: 'forbidden', permission: 'messages.body' });
        return;
      }
      const dl = await d.queue.getDeadLetter(queue, id, { includeBody: wantBody });
      if (!dl) throw new HttpError(404, 'no such dead letter');
      // Reading PHI is itself an auditable act.
      if (wantBody) await d.audit.append({ actor: p.username, action: 'dead-letter.view-body', target: `${queue}/${id}`, detail: { queue }, ip: req.ip ?? null });
      res.json({ ...deadLetterJson(dl), ...(wantBody && dl.body ? { body: dl.body.toString('base64'), bodyEncoding: 'base64' } : {}) });
    }),
  );

  r.post(
    '/dead-letters/:queue/replay',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const actor = req.principal!.username;
      const queue = known(String(req.params.queue));
      const reason = requireReason(req.body);
      const rawFilter = (req.body as { filter?: unknown }).filter ?? {};
      if (typeof rawFilter !== 'object' || rawFilter === null || Array.isArray(rawFilter)) throw new HttpError(400, 'filter must be an object');
      const filter = filterFrom(rawFilter as Record<string, unknown>);
      const replayed = await d.queue.replayDeadLetters(queue, filter, { by: actor });
      await d.audit.append({
        actor,
        action: 'dead-letter.bulk-replay',
        target: queue,
        detail: { queue, reason, replayed, filter: { ...filter, from: filter.from?.toISOString(), to: filter.to?.toISOString() } },
        ip: req.ip ?? null,
      });
      res.json({ replayed });
    }),
  );

  r.post(
    '/dead-letters/:queue/:id/replay',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const actor = req.principal!.username;
      const queue = known(String(req.params.queue));
      const id = String(req.params.id);
      const reason = requireReason(req.body);
      const body = (req.body as { body?: unknown }).body;
      if (body !== undefined && typeof body !== 'string') throw new HttpError(400, 'body must be a string');
      await d.queue.replayDeadLetter(queue, id, { by: actor, ...(body !== undefined ? { body } : {}) });
      await d.audit.append({ actor, action: 'dead-letter.replay', target: `${queue}/${id}`, detail: { queue, reason, edited: body !== undefined }, ip: req.ip ?? null });
      res.status(204).end();
    }),
  );

  r.delete(
    '/dead-letters/:queue/:id',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const actor = req.principal!.username;
      const queue = known(String(req.params.queue));
      const id = String(req.params.id);
      const reason = requireReason(req.body);
      await d.queue.discardDeadLetter(queue, id);
      await d.audit.append({ actor, action: 'dead-letter.discard', target: `${queue}/${id}`, detail: { queue, reason }, ip: req.ip ?? null });
      res.status(204).end();
    }),
  );

  // Only this router's own errors are answered here; anything else goes to the parent's handler.
  r.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message });
      return;
    }
    if (err instanceof DeadLetterNotFoundError) {
      res.status(404).json({ error: 'no such dead letter' });
      return;
    }
    next(err);
  });
  return r;
}

/**
 * {@link queuesRouter} as the hub mounts it under `/api/v1`, next to (and
 * before) the main API router: JSON bodies and token authentication for its
 * own paths only, so every other path falls through to the main router, and
 * a JSON error for anything the queue backend throws (503 when it is
 * unreachable), never Express's default error page.
 */
export function queuesApi(d: QueuesRouterDeps & { tokens: TokenService }): Router {
  const r = Router();
  const paths = ['/queues', '/dead-letters'];
  r.use(paths, express.json({ limit: '2mb' }), authenticate(d.tokens));
  r.use(queuesRouter(d));
  r.use(paths, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    if (err && typeof err === 'object' && (err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'request body is not valid JSON' });
      return;
    }
    if (err instanceof IntegrationError) {
      res.status(err.retryable ? 503 : 409).json({ error: 'queue operation failed', code: err.code });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  });
  return r;
}
