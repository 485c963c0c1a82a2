import express, { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { EncryptedMessageStore } from '../../adapters/store';
import { ROLES } from '../../config/schema';
import type { Role } from '../../config/schema';
import { authenticate, requirePermission } from '../auth/http-auth';
import { can } from '../auth/permissions';
import type { TokenService } from '../auth/token-service';
import type { UserDirectory } from '../auth/user-directory';
import { LoginThrottle } from './login-throttle';
import { openApiDocument } from './openapi';
import { BadRequest, messageQueryFrom } from './query-params';
import { messageJson } from './serialize';
import { StoreError } from '../../adapters/store';
import type { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import { bulkReprocessRequest, reprocessStored } from './reprocess';

export interface ApiDeps {
  store: EncryptedMessageStore;
  tokens: TokenService;
  users: UserDirectory;
  sessionTtlMs: number;
  version: string;
  /** Receiving nodes that can run a stored message through their flow again. */
  reprocessors?: ReprocessRegistry;
}

type Handler = (req: Request, res: Response) => Promise<void>;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction): void => {
  h(req, res).catch(next);
};

/** `/api/v1`: the hub's REST API. JSON bodies are parsed here only, never globally. */
export function apiRouter(d: ApiDeps): Router {
  const r = Router();
  const throttle = new LoginThrottle();
  const audit = d.store.audit;
  r.use(express.json({ limit: '1mb' }));

  r.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument(d.version));
  });

  r.post(
    '/auth/login',
    wrap(async (req, res) => {
      const { username, password } = (req.body ?? {}) as { username?: unknown; password?: unknown };
      if (typeof username !== 'string' || typeof password !== 'string') {
        res.status(400).json({ error: 'username and password are required' });
        return;
      }
      const ip = req.ip ?? 'unknown';
      if (throttle.blocked(username, ip)) {
        await audit.append({ actor: username, action: 'auth.login.throttled', ip });
        res.status(429).json({ error: 'too many failed logins; wait a minute' });
        return;
      }
      const user = await d.users.verify(username, password);
      if (!user) {
        throttle.fail(username, ip);
        await audit.append({ actor: username, action: 'auth.login.fail', ip });
        res.status(401).json({ error: 'invalid credentials' });
        return;
      }
      throttle.succeed(username, ip);
      const { token, record } = await d.tokens.issue({ kind: 'session', name: 'login', subject: user.username, role: user.role, createdBy: user.username, ttlMs: d.sessionTtlMs });
      await audit.append({ actor: user.username, action: 'auth.login', target: record.id, ip });
      res.json({ token, tokenType: 'Bearer', expiresAt: record.expiresAt?.toISOString(), username: user.username, role: user.role });
    }),
  );

  r.use(authenticate(d.tokens));

  r.post(
    '/auth/logout',
    wrap(async (req, res) => {
      await d.tokens.revoke(req.principal!.tokenId);
      await audit.append({ actor: req.principal!.username, action: 'auth.logout', target: req.principal!.tokenId, ip: req.ip ?? null });
      res.status(204).end();
    }),
  );

  r.get('/me', (req, res) => {
    const p = req.principal!;
    res.json({ username: p.username, role: p.role, tokenKind: p.kind });
  });

  r.get('/users', requirePermission('users.read'), (_req, res) => {
    res.json({ items: d.users.list() });
  });

  r.get(
    '/tokens',
    requirePermission('tokens.manage'),
    wrap(async (_req, res) => {
      const items = (await d.tokens.list('api')).map((t) => ({ ...t, createdAt: t.createdAt.toISOString(), expiresAt: t.expiresAt?.toISOString() ?? null, revokedAt: t.revokedAt?.toISOString() ?? null }));
      res.json({ items });
    }),
  );

  r.post(
    '/tokens',
    requirePermission('tokens.manage'),
    wrap(async (req, res) => {
      const { name, role, subject, expiresInDays } = (req.body ?? {}) as Record<string, unknown>;
      if (typeof name !== 'string' || !/^[\w .@-]{1,64}$/.test(name)) throw new BadRequest('name: 1-64 letters, digits, space or ._@-');
      if (!ROLES.includes(role as Role)) throw new BadRequest(`role must be one of ${ROLES.join(', ')}`);
      if (subject !== undefined && (typeof subject !== 'string' || !/^[\w.@-]{1,64}$/.test(subject))) throw new BadRequest('subject: 1-64 letters, digits or ._@-');
      if (expiresInDays !== undefined && (typeof expiresInDays !== 'number' || !Number.isInteger(expiresInDays) || expiresInDays < 1 || expiresInDays > 3650)) {
        throw new BadRequest('expiresInDays must be an integer from 1 to 3650');
      }
      const actor = req.principal!.username;
      const { token, record } = await d.tokens.issue({
        kind: 'api',
        name,
        subject: (subject as string | undefined) ?? `token:${name}`,
        role: role as Role,
        createdBy: actor,
        ttlMs: expiresInDays ? (expiresInDays as number) * 86_400_000 : undefined,
      });
      await audit.append({ actor, action: 'token.create', target: record.id, detail: { name, role }, ip: req.ip ?? null });
      res.status(201).json({ id: record.id, token, name, role, subject: record.subject, expiresAt: record.expiresAt?.toISOString() ?? null });
    }),
  );

  r.delete(
    '/tokens/:id',
    requirePermission('tokens.manage'),
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const revoked = await d.tokens.revoke(id);
      if (!revoked) {
        res.status(404).json({ error: 'no such active token' });
        return;
      }
      await audit.append({ actor: req.principal!.username, action: 'token.revoke', target: id, ip: req.ip ?? null });
      res.status(204).end();
    }),
  );

  r.get(
    '/messages',
    requirePermission('messages.read'),
    wrap(async (req, res) => {
      const page = await d.store.search(messageQueryFrom(req.query as Record<string, unknown>));
      res.json({ items: page.items.map(messageJson), nextCursor: page.nextCursor });
    }),
  );

  r.get(
    '/messages/:id',
    requirePermission('messages.read'),
    wrap(async (req, res) => {
      const p = req.principal!;
      const wantBody = req.query.includeBody === 'true';
      if (wantBody && !can(p.role, 'messages.body')) {
        res.status(403).json({ error: 'forbidden', permission: 'messages.body' });
        return;
      }
      const id = String(req.params.id);
      const m = await d.store.get(id, { includeBody: wantBody });
      if (!m) {
        res.status(404).json({ error: 'no such message' });
        return;
      }
      // Reading PHI is itself an auditable act.
      if (wantBody) await audit.append({ actor: p.username, action: 'message.view-body', target: id, ip: req.ip ?? null });
      res.json(messageJson(m));
    }),
  );

  r.post(
    '/messages/reprocess',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const answer = await bulkReprocessRequest({ store: d.store, audit, reprocessors: d.reprocessors }, req.body, { actor: req.principal!.username, ip: req.ip ?? null });
      res.status(answer.status).json(answer.json);
    }),
  );

  r.post(
    '/messages/:id/reprocess',
    requirePermission('messages.replay'),
    wrap(async (req, res) => {
      const id = String(req.params.id);
      const reason = (req.body as { reason?: unknown } | undefined)?.reason;
      if (typeof reason !== 'string' || reason.trim() === '') throw new BadRequest('reason is required');
      if (reason.length > 500) throw new BadRequest('reason must be at most 500 characters');
      const outcome = await reprocessStored({ store: d.store, audit, reprocessors: d.reprocessors }, id, { actor: req.principal!.username, reason: reason.trim(), ip: req.ip ?? null });
      if (outcome.status === 202) res.status(202).json({ id, status: 'processing' });
      else res.status(outcome.status).json({ error: outcome.error, ...('code' in outcome && outcome.code ? { code: outcome.code } : {}) });
    }),
  );

  r.get(
    '/audit',
    requirePermission('audit.read'),
    wrap(async (req, res) => {
      const q = req.query as Record<string, string | undefined>;
      const limit = q.limit ? Number(q.limit) : undefined;
      const before = q.before ? Number(q.before) : undefined;
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) throw new BadRequest('limit must be an integer from 1 to 1000');
      if (before !== undefined && !Number.isInteger(before)) throw new BadRequest('before must be an audit entry id');
      const items = await audit.list({ actor: q.actor, action: q.action, limit, before });
      res.json({ items: items.map((e) => ({ ...e, at: e.at.toISOString() })) });
    }),
  );

  r.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });

  // Error bodies name the problem class, never input content.
  r.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof BadRequest || (err instanceof StoreError && !err.retryable)) {
      res.status(400).json({ error: err.message });
      return;
    }
    if (err && typeof err === 'object' && (err as { type?: string }).type === 'entity.parse.failed') {
      res.status(400).json({ error: 'request body is not valid JSON' });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  });
  return r;
}
