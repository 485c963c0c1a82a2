import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { parseKeyList } from '../adapters/store';
import type { ConfiguredUser, HubConfig } from '../config/schema';

/** Secrets generated on first start live here, readable by the hub's user only. */
export const SECRETS_FILE = 'secrets.json';
export const ADMIN_PASSWORD_FILE = 'admin-password.txt';
const BCRYPT_COST = 12;

interface PersistedSecrets {
  credentialSecret?: string;
  storeKeys?: string;
  patientKeySecret?: string;
  adminPasswordHash?: string;
}

export interface ResolvedSecrets {
  credentialSecret: string;
  storeKeys: Record<string, Buffer>;
  activeStoreKeyId: string;
  patientKeySecret: Buffer;
  users: ConfiguredUser[];
  /** Set only on the start that generated the admin password, to print once. */
  generatedAdminPassword: string | null;
}

/**
 * Takes each secret from configuration, or from the data dir, or generates it
 * and persists it there (0600). The admin password is kept only as a bcrypt
 * hash; when generated, its plaintext is returned once for printing and
 * written to a 0600 file the operator should delete after reading.
 */
export function resolveSecrets(config: HubConfig): ResolvedSecrets {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const file = join(config.dataDir, SECRETS_FILE);
  const persisted: PersistedSecrets = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PersistedSecrets) : {};
  const before = JSON.stringify(persisted);

  const credentialSecret = config.credentialSecret ?? (persisted.credentialSecret ??= randomBytes(32).toString('base64url'));
  const storeKeySpec = config.storeKeys ?? (persisted.storeKeys ??= `k1:${randomBytes(32).toString('base64')}`);
  const { keys, activeKeyId } = parseKeyList(storeKeySpec);
  const patientKeySecret = Buffer.from(config.patientKeySecret ?? (persisted.patientKeySecret ??= randomBytes(32).toString('base64')), 'base64');

  let generatedAdminPassword: string | null = null;
  let adminHash: string;
  if (config.adminPassword) {
    adminHash = bcrypt.hashSync(config.adminPassword, BCRYPT_COST);
  } else if (persisted.adminPasswordHash) {
    adminHash = persisted.adminPasswordHash;
  } else {
    generatedAdminPassword = randomBytes(18).toString('base64url');
    adminHash = persisted.adminPasswordHash = bcrypt.hashSync(generatedAdminPassword, BCRYPT_COST);
    writePrivate(join(config.dataDir, ADMIN_PASSWORD_FILE), `${generatedAdminPassword}\n`);
  }

  if (JSON.stringify(persisted) !== before) writePrivate(file, JSON.stringify(persisted, null, 2) + '\n');

  const users: ConfiguredUser[] = [{ username: 'admin', role: 'admin', passwordHash: adminHash }, ...config.users.filter((u) => u.username !== 'admin')];
  return { credentialSecret, storeKeys: keys, activeStoreKeyId: activeKeyId, patientKeySecret, users, generatedAdminPassword };
}

/** Write-then-rename so a crash never leaves a half-written secrets file. */
function writePrivate(path: string, content: string): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
