import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { testStoreKeys } from '../../test/support/store-keys';
import { EditorAwareTokenService } from './editor-sessions';
import type { EditorSession } from './editor-sessions';
import { TokenService } from './token-service';
import { UserDirectory } from './user-directory';

const EDITOR_TOKEN = Buffer.alloc(128, 5).toString('base64');

describe('EditorAwareTokenService', () => {
  let dir: string;
  let store: EncryptedMessageStore;
  const users = new UserDirectory([
    { username: 'olga', role: 'operator', passwordHash: 'x' },
    { username: 'vic', role: 'viewer', passwordHash: 'x' },
  ]);
  const now = 1_800_000_000_000;
  let sessions: Map<string, EditorSession>;
  const lookup = jest.fn(async (token: string) => sessions.get(token));

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'editor-sessions-'));
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    sessions = new Map([[EDITOR_TOKEN, { user: 'olga', expires: now + 60_000 }]]);
    lookup.mockClear();
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the plain token service refuses an editor token (why the hub needs this)', async () => {
    expect(await new TokenService(store.tokens, users, () => now).verify(EDITOR_TOKEN)).toBeNull();
  });

  test("an editor login token stands for its user, with the user's current role", async () => {
    const tokens = new EditorAwareTokenService(store.tokens, users, lookup, () => now);
    const p = await tokens.verify(EDITOR_TOKEN);
    expect(p).toMatchObject({ username: 'olga', role: 'operator', kind: 'session' });
    // Not a hub token id, and not the token itself.
    expect(p!.tokenId).toMatch(/^editor:[0-9a-f]{16}$/);
  });

  test('hub tokens still verify, without asking Node-RED', async () => {
    const tokens = new EditorAwareTokenService(store.tokens, users, lookup, () => now);
    const { token } = await tokens.issue({ kind: 'session', name: 'login', subject: 'vic', role: 'viewer', createdBy: 'vic', ttlMs: 60_000 });
    expect(await tokens.verify(token)).toMatchObject({ username: 'vic', role: 'viewer', kind: 'session' });
    expect(await tokens.verify(`${token}x`)).toBeNull();
    expect(lookup).not.toHaveBeenCalled();
  });

  test('an unknown, expired, oversized or unreadable editor session, or one of a removed user, is refused', async () => {
    const tokens = new EditorAwareTokenService(store.tokens, users, lookup, () => now);
    expect(await tokens.verify('not-a-session')).toBeNull();
    sessions.set('expired', { user: 'olga', expires: now - 1 });
    expect(await tokens.verify('expired')).toBeNull();
    sessions.set('gone', { user: 'mallory', expires: now + 60_000 });
    expect(await tokens.verify('gone')).toBeNull();
    const long = 'x'.repeat(401);
    sessions.set(long, { user: 'olga', expires: now + 60_000 });
    expect(await tokens.verify(long)).toBeNull();
    const failing = new EditorAwareTokenService(store.tokens, users, async () => {
      throw new Error('storage not initialised');
    });
    expect(await failing.verify(EDITOR_TOKEN)).toBeNull();
  });
});
