import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { AlertsView } from '../../adapters/alerts/types';
import type { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import { bulkReprocessRequest, reprocessable, reprocessStored } from './reprocess';
import { auditableFilter } from './query-params';
import type { MessageQuery, MessageStore } from '../../adapters/store';
import { StoreError } from '../../adapters/store';
import { authenticate, requirePermission } from '../auth/http-auth';
import { can } from '../auth/permissions';
import type { TokenService } from '../auth/token-service';
import { messageDetail } from '../monitor/message-detail';
import type { MonitorStats } from '../monitor/monitor-stats';
import type { MonitorMe } from '../monitor/protocol';
import { requestToken } from '../monitor/session';
import type { MessageOperations } from '../monitor/types';
import { BadRequest, messageQueryFrom } from './query-params';

/** At most this many open event streams per hub process. */
const MAX_STREAMS = 100;
/** How often an open stream re-checks its token (logout, revocation, expiry end it). */
const REVERIFY_MS = 15_000;
/** Without a bulk method from the queue, the monitor replays one by one up to this many. */
export const MAX_BULK_REPLAY = 1000;
const MAX_EDITED_BODY_BYTES = 1_048_576;

export interface MonitorApiDeps {
  store: MessageStore;
  tokens: TokenService;
  stats: MonitorStats;
  operations?: MessageOperations;
  queuesConfigured: boolean;
  /** Alert rule states and history (HUB_ALERT_RULES); without it the alerts call reports alerting off. */
  alerts?: { view(historyLimit?: number): Promise<AlertsView> };
  /** Receiving nodes that can run a stored message through their flow again. */
  reprocessors?: ReprocessRegistry;
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
  h(req, res).catch(next);
};

class Unavailable extends Error {}

/**
 * `/api/v1/monitor`: what the monitor UI needs beyond `/api/v1/messages`:
 * the live overview (SSE and one-shot), the message detail view, and replay /
 * discard. Mounted before the main API router, which answers 404 for
 * anything it does not know.
 */
export function monitorApiRouter(d: MonitorApiDeps): Router {
  const r = Router();
  const audit = d.store.audit;
  let streams = 0;
  r.use(express.json({ limit: '2mb' }));
  r.use(authenticate(d.tokens));

  r.get('/me', (req, res) => {
    const p = req.principal!;
    const me: MonitorMe = {
      username: p.username,
      role: p.role,
      canSeeBodies: can(p.role, 'messages.body'),
      canOperate: can(p.role, 'messages.replay'),
      features: { operations: d.operations !== undefined, bulkReplay: d.operations !== undefined, queues: d.queuesConfigured },
    };
    res.set('Cache-Control', 'no-store').json(me);
  });

  r.get(
    '/snapshot',
    requirePermission('metrics.read'),
    wrap(async (_req, res) => {
      res.set('Cache-Control', 'no-store').json(await d.stats.snapshot());
    }),
  );

  // Server-sent events: one `snapshot` event a second. Snapshots carry no message content.
  r.get('/events', requirePermission('metrics.read'), (req, res) => {
    if (streams >= MAX_STREAMS) {
      res.status(503).json({ error: 'too many monitor streams' });
      return;
    }
    streams += 1;
    const token = requestToken(req)!;
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    let open = true;
    const unsubscribe = d.stats.subscribe(
      (json) => {
        if (open) res.write(`event: snapshot\ndata: ${json}\n\n`);
      },
      () => res.end(),
    );
    const reverify = setInterval(() => {
      d.tokens.verify(token).then(
        (p) => {
          if (!p && open) {
            res.write('event: logout\ndata: {}\n\n');
            res.end();
          }
        },
        () => undefined,
      );
    }, REVERIFY_MS);
    reverify.unref();
    const done = (): void => {
      if (!open) return;
      open = false;
      streams -= 1;
      clearInterval(reverify);
      unsubscribe();
    };
    req.on('close', done);
    res.on('close', done);
  });

  // Alert rules and their fired/recovered history: names, counts and thresholds only, so every monitor role may read it.
  r.get(
    '/alerts',
    requirePermission('metrics.read'),
    wrap(async (req, res) => {
      const raw = req.query.limit;
      const limit = raw === undefined ? 100 : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new BadRequest('limit must be an integer from 1 to 500');
      const view: AlertsView = d.alerts ? await d.alerts.view(limit) : { enabled: false, intervalSeconds: null, rules: [], history: [] };
      res.set('Cache-Control', 'no-store').json(view);
    }),
  );

  r.get(
    '/messages/:id',
    requirePermission('messages.read'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const id = String(req.params.id);
      const withBody = can(p.role, 'messages.body') && req.query.body !== 'false';
      const detail = await messageDetail({ store: d.store, operations: d.operations }, id, { withBody, mayOperate: can(p.role, 'messages.replay') });
      if (!detail) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      detail.operations.reprocess = can(p.role, 'messages.replay') && reprocessable(detail.message, d.reprocessors);
      // Reading PHI is itself an auditable act.
      if (detail.body) await audit.append({ actor: p.username, action: 'message.view-body', target: id, detail: { via: 'monitor' }, ip: req.ip ?? null });
      res.set('Cache-Control', 'no-store').json(detail);
    }),
  );

  r.post(
    '/messages/:id/replay',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const ops = operationsOf(d);
      const body = jsonBody(req);
      const reason = reasonOf(body);
      const id = String(req.params.id);
      let edited: Buffer | undefined;
      if (body.editedBody !== undefined) {
        if (typeof body.editedBody !== 'string' || body.editedBody.length === 0) throw new BadRequest('editedBody must be a non-empty string');
        edited = Buffer.from(body.editedBody, 'utf8');
        if (edited.length > MAX_EDITED_BODY_BYTES) throw new BadRequest('editedBody is larger than 1 MB');
      }
      if (!(await d.store.get(id))) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      const detail = { reason, edited: edited !== undefined, ...(edited ? { editedBytes: edited.length } : {}) };
      await runAudited(audit, { actor: p.username, action: 'message.replay', target: id, ip: req.ip ?? null, detail }, () => ops.replay(id, reason, edited, p.username));
      res.status(202).json({ ok: true, id });
    }),
  );

  r.post(
    '/messages/:id/reprocess',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const reason = reasonOf(jsonBody(req));
      const id = String(req.params.id);
      const outcome = await reprocessStored({ store: d.store, audit, reprocessors: d.reprocessors }, id, { actor: p.username, reason, ip: req.ip ?? null, via: 'monitor' });
      if (outcome.status === 202) res.status(202).json({ ok: true, id });
      else res.status(outcome.status).json({ error: outcome.error, ...('code' in outcome && outcome.code ? { code: outcome.code } : {}) });
    }),
  );

  r.post(
    '/messages/:id/discard',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const ops = operationsOf(d);
      const reason = reasonOf(jsonBody(req));
      const id = String(req.params.id);
      if (!(await d.store.get(id))) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      await runAudited(audit, { actor: p.username, action: 'message.discard', target: id, ip: req.ip ?? null, detail: { reason } }, () => ops.discard(id, reason, p.username));
      res.status(202).json({ ok: true, id });
    }),
  );

  // Bulk reprocess by filter, as POST /api/v1/messages/reprocess; `dryRun: true` only counts.
  r.post(
    '/reprocess',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const answer = await bulkReprocessRequest({ store: d.store, audit, reprocessors: d.reprocessors }, jsonBody(req), { actor: req.principal!.username, ip: req.ip ?? null, via: 'monitor' });
      res.status(answer.status).json(answer.json);
    }),
  );

  // Bulk replay by filter. `dryRun: true` only counts, so the UI can say how many before asking for the reason.
  r.post(
    '/replay',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const body = jsonBody(req);
      const filterIn = body.filter;
      if (!filterIn || typeof filterIn !== 'object' || Array.isArray(filterIn)) throw new BadRequest('filter must be an object of message search parameters');
      const { limit: _l, cursor: _c, ...filter } = messageQueryFrom(filterIn as Record<string, unknown>);
      if (!Object.values(filter).some((v) => v !== undefined)) throw new BadRequest('a bulk replay needs at least one filter');
      const count = await d.store.count(filter);
      if (body.dryRun === true) {
        res.json({ count, limit: d.operations?.replayMatching ? null : MAX_BULK_REPLAY });
        return;
      }
      const ops = operationsOf(d);
      const reason = reasonOf(body);
      if (!ops.replayMatching && count > MAX_BULK_REPLAY) throw new BadRequest(`${count} messages match; narrow the filter to at most ${MAX_BULK_REPLAY}`);
      // The audit keeps the filter without the MRN: the patient key stands in for it.
      const auditFilter = auditableFilter(d.store, filter);
      let replayed = 0;
      await runAudited(audit, { actor: p.username, action: 'message.replay-bulk', target: null, ip: req.ip ?? null, detail: { reason, filter: auditFilter, matched: count } }, async () => {
        if (ops.replayMatching) {
          replayed = await ops.replayMatching(filter, reason, p.username);
          return;
        }
        let cursor: string | undefined;
        do {
          const page = await d.store.search({ ...filter, limit: 500, cursor });
          for (const m of page.items) {
            await ops.replay(m.id, reason, undefined, p.username);
            replayed += 1;
          }
          cursor = page.nextCursor ?? undefined;
        } while (cursor && replayed < MAX_BULK_REPLAY);
      }, () => ({ replayed }));
      res.status(202).json({ ok: true, replayed });
    }),
  );

  r.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });

  r.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof Unavailable) {
      res.status(503).json({ error: err.message, code: 'NO_QUEUE' });
      return;
    }
    if (err instanceof BadRequest || (err instanceof StoreError && !err.retryable)) {
      res.status(400).json({ error: err.message });
      return;
    }
    if (err && typeof err === 'object' && (err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'request body is not valid JSON' });
      return;
    }
    if (err instanceof OperationFailed) {
      res.status(err.retryable ? 503 : 409).json({ error: 'operation failed', code: err.code });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  });
  return r;
}

function operationsOf(d: MonitorApiDeps): MessageOperations {
  if (!d.operations) throw new Unavailable('replay and discard require the queue, which is not configured');
  return d.operations;
}

function jsonBody(req: Request): Record<string, unknown> {
  // A JSON body cannot come from a cross-site HTML form: one more guard next to SameSite=Strict.
  if (!req.is('application/json')) throw new BadRequest('send a JSON body (content-type: application/json)');
  const b = req.body as unknown;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new BadRequest('body must be a JSON object');
  return b as Record<string, unknown>;
}

function reasonOf(body: Record<string, unknown>): string {
  const r = body.reason;
  if (typeof r !== 'string' || r.trim().length < 3 || r.length > 500) throw new BadRequest('reason is required: 3-500 characters');
  return r.trim();
}


class OperationFailed extends Error {
  constructor(
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(`operation failed: ${code}`);
  }
}

/** Runs an operation and writes one audit entry with its outcome, whether it worked or not. */
async function runAudited(
  audit: MessageStore['audit'],
  entry: { actor: string; action: string; target: string | null; ip: string | null; detail: Record<string, unknown> },
  op: () => Promise<void>,
  extra: () => Record<string, unknown> = () => ({}),
): Promise<void> {
  try {
    await op();
  } catch (err) {
    const e = err as { code?: unknown; retryable?: unknown };
    const code = typeof e.code === 'string' ? e.code : 'UNKNOWN';
    await audit.append({ ...entry, detail: { ...entry.detail, ...extra(), outcome: 'failed', code } });
    throw new OperationFailed(code, e.retryable === true);
  }
  await audit.append({ ...entry, detail: { ...entry.detail, ...extra(), outcome: 'ok' } });
}
