import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import type { TokenRepository } from '../../adapters/store';
import type { Principal } from './principal';
import { TokenService } from './token-service';
import type { UserDirectory } from './user-directory';

/** What Node-RED keeps for an editor login: the user name it was issued to, and when it ends. */
export interface EditorSession {
  user: string;
  expires?: number;
}

export type EditorSessionLookup = (token: string) => Promise<EditorSession | null | undefined>;

/** Node-RED's editor tokens are 128 random bytes in base64 (172 characters); anything much longer is not one. */
const MAX_EDITOR_TOKEN_LENGTH = 400;

/**
 * Node-RED's own session store, the one its editor login writes to. Resolved
 * through node-red's dependencies so it is the instance the runtime uses.
 * Before the runtime has initialised its storage a lookup fails, which counts
 * as "no session".
 */
export function nodeRedEditorSessions(): EditorSessionLookup {
  let tokens: { get(token: string): Promise<EditorSession | null | undefined> } | undefined;
  return async (token) => {
    tokens ??= require(require.resolve('@node-red/editor-api/lib/auth/tokens', { paths: [dirname(require.resolve('node-red'))] })) as typeof tokens;
    return tokens!.get(token);
  };
}

/**
 * The hub's token service that also accepts the Node-RED editor's session
 * tokens, so the editor (its sidebar) can call `/api/v1` with the token it
 * already sends to the admin API. An editor login is made with a hub user's
 * password (adminAuth.authenticate), so the token stands for that user and
 * gets the user's current role; it ends when Node-RED ends it (logout, expiry)
 * or when the user is removed from the configuration.
 */
export class EditorAwareTokenService extends TokenService {
  constructor(
    repo: TokenRepository,
    private readonly directory: UserDirectory,
    private readonly editorSessions: EditorSessionLookup = nodeRedEditorSessions(),
    private readonly clock: () => number = Date.now,
  ) {
    super(repo, directory, clock);
  }

  override async verify(token: string): Promise<Principal | null> {
    const own = await super.verify(token);
    if (own || token.startsWith('hub_') || token.length > MAX_EDITOR_TOKEN_LENGTH) return own;
    let session: EditorSession | null | undefined;
    try {
      session = await this.editorSessions(token);
    } catch {
      return null;
    }
    if (!session || typeof session.user !== 'string') return null;
    if (session.expires !== undefined && session.expires <= this.clock()) return null;
    const user = this.directory.get(session.user);
    if (!user) return null;
    // Not a hub token id: revoking it in the hub's store is a no-op; Node-RED's logout ends the session.
    const tokenId = `editor:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
    return { username: user.username, role: user.role, tokenId, kind: 'session' };
  }
}
