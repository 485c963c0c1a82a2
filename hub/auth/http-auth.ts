import type { NextFunction, Request, Response } from 'express';
import type { Permission } from './permissions';
import { can } from './permissions';
import type { Principal } from './principal';
import { bearerToken } from './token-service';
import type { TokenService } from './token-service';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Resolves the bearer token (header, or the `hub_session` cookie the monitor uses) to a principal. */
export function authenticate(tokens: TokenService) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = bearerToken(req.headers.authorization) ?? cookieToken(req.headers.cookie);
    if (!token) {
      res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'unauthenticated' });
      return;
    }
    tokens.verify(token).then(
      (principal) => {
        if (!principal) {
          res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').json({ error: 'invalid_token' });
          return;
        }
        req.principal = principal;
        next();
      },
      (err: unknown) => next(err),
    );
  };
}

export function requirePermission(permission: Permission) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.principal) {
      res.status(401).json({ error: 'unauthenticated' });
      return;
    }
    if (!can(req.principal.role, permission)) {
      res.status(403).json({ error: 'forbidden', permission });
      return;
    }
    next();
  };
}

function cookieToken(cookie: string | undefined): string | null {
  if (!cookie) return null;
  const m = /(?:^|;\s*)hub_session=([^;]+)/.exec(cookie);
  return m ? decodeURIComponent(m[1]!) : null;
}
