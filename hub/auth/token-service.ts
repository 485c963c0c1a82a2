import { createHash, randomBytes } from 'node:crypto';
import type { Role } from '../../config/schema';
import { ROLES } from '../../config/schema';
import type { TokenKind, TokenRecord, TokenRepository } from '../../adapters/store';
import type { Principal } from './principal';
import type { UserDirectory } from './user-directory';

const TOKEN_PREFIX = 'hub_';

/**
 * Bearer tokens for sessions (after a password login) and for machine clients.
 * Only a SHA-256 of each token is stored: the token is 32 random bytes, so a
 * slow hash adds nothing, and lookups stay one indexed read.
 */
export class TokenService {
  constructor(
    private readonly repo: TokenRepository,
    private readonly users: UserDirectory,
    private readonly now: () => number = Date.now,
  ) {}

  async issue(o: { kind: TokenKind; name: string; subject: string; role: Role; createdBy: string; ttlMs?: number }): Promise<{ token: string; record: TokenRecord }> {
    const id = randomBytes(8).toString('hex');
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = o.ttlMs ? new Date(this.now() + o.ttlMs) : null;
    await this.repo.insert({ id, name: o.name, kind: o.kind, subject: o.subject, role: o.role, hash: hashToken(token), createdBy: o.createdBy, expiresAt });
    const record = (await this.repo.findByHash(hashToken(token)))!;
    return { token, record };
  }

  /** @returns the principal for a valid, unexpired, unrevoked token; else null */
  async verify(token: string): Promise<Principal | null> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return null;
    const rec = await this.repo.findByHash(hashToken(token));
    if (!rec || rec.revokedAt) return null;
    if (rec.expiresAt && rec.expiresAt.getTime() <= this.now()) return null;
    if (!ROLES.includes(rec.role as Role)) return null;
    if (rec.kind === 'session') {
      // A session dies with its user: removing someone from the config locks them out.
      const user = this.users.get(rec.subject);
      if (!user) return null;
      return { username: user.username, role: user.role, tokenId: rec.id, kind: 'session' };
    }
    return { username: rec.subject, role: rec.role as Role, tokenId: rec.id, kind: 'api' };
  }

  revoke(id: string): Promise<boolean> {
    return this.repo.revoke(id);
  }

  list(kind?: TokenKind): Promise<TokenRecord[]> {
    return this.repo.list(kind);
  }
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  return m ? m[1]! : null;
}
