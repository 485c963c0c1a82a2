import { Router } from 'express';
import type { Request, Response } from 'express';
import type { AuditLog } from '../../adapters/store';
import { bearerToken } from '../auth/token-service';
import type { TokenService } from '../auth/token-service';

export const SESSION_COOKIE = 'hub_session';

/** The token a request carries: the Authorization header first, else the monitor's cookie. */
export function requestToken(req: Request): string | null {
  return bearerToken(req.headers.authorization) ?? cookieValue(req.headers.cookie, SESSION_COOKIE);
}

export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return null;
      }
    }
  }
  return null;
}

/**
 * `/monitor/session`: turns a login session token into an HttpOnly cookie, so
 * the monitor's JavaScript never keeps it, and ends it again.
 *
 * POST takes the token in the Authorization header only (a cross-site form
 * cannot set that header), and only a password-login session: a long-lived API
 * token is not turned into a browser cookie. SameSite=Strict keeps the cookie
 * off cross-site requests; Secure is added whenever the hub serves TLS.
 */
export function sessionRouter(d: { tokens: TokenService; audit: AuditLog; sessionTtlMs?: number }): Router {
  const r = Router();

  r.post('/monitor/session', (req: Request, res: Response, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthenticated' });
      return;
    }
    d.tokens.verify(token).then((p) => {
      if (!p) {
        res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
        return;
      }
      if (p.kind !== 'session') {
        res.status(400).json({ error: 'only a login session can be kept in a cookie' });
        return;
      }
      res.set('Cache-Control', 'no-store').append('Set-Cookie', cookie(token, req.secure, d.sessionTtlMs)).status(204).end();
    }, next);
  });

  r.delete('/monitor/session', (req: Request, res: Response, next) => {
    const token = requestToken(req);
    const clear = (): void => {
      res.set('Cache-Control', 'no-store').append('Set-Cookie', cookie('', req.secure, 0)).status(204).end();
    };
    if (!token) {
      clear();
      return;
    }
    d.tokens
      .verify(token)
      .then(async (p) => {
        if (p && p.kind === 'session') {
          await d.tokens.revoke(p.tokenId);
          await d.audit.append({ actor: p.username, action: 'auth.logout', target: p.tokenId, ip: req.ip ?? null });
        }
        clear();
      })
      .catch(next);
  });
  return r;
}

function cookie(value: string, secure: boolean, maxAgeMs: number | undefined): string {
  const parts = [`${SESSION_COOKIE}=${encodeURIComponent(value)}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (maxAgeMs !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}`);
  if (secure) parts.push('Secure');
  return parts.join('; ');
}
