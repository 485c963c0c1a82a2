import { join } from 'node:path';
import { BodyCipher } from './body-cipher';
import { EncryptedMessageStore } from './message-store';
import { makePatientKeyer } from './patient-key';
import { PostgresBackend } from './postgres-backend';
import { SqliteBackend } from './sqlite-backend';

export interface CreateStoreOptions {
  /** `sqlite:` (file in dataDir), `sqlite:/abs/path.db`, `sqlite::memory:` or `postgres://…`. */
  url: string;
  dataDir: string;
  keys: Record<string, Buffer>;
  activeKeyId: string;
  patientKeySecret: Buffer;
  /** PostgreSQL schema (tests use a throwaway one). */
  schema?: string;
}

/** Opens the configured backend, checks it and wraps it; the caller closes it. */
export async function createMessageStore(o: CreateStoreOptions): Promise<EncryptedMessageStore> {
  const backend = /^postgres(ql)?:\/\//.test(o.url)
    ? new PostgresBackend({ url: o.url, schema: o.schema })
    : new SqliteBackend({ file: sqliteFile(o.url, o.dataDir) });
  try {
    await backend.init();
  } catch (err) {
    await backend.close().catch(() => undefined);
    throw err;
  }
  return new EncryptedMessageStore(backend, {
    cipher: new BodyCipher(o.keys, o.activeKeyId),
    patientKey: makePatientKeyer(o.patientKeySecret),
  });
}

function sqliteFile(url: string, dataDir: string): string {
  const rest = url.replace(/^sqlite:/, '');
  if (rest === ':memory:') return rest;
  return rest ? rest : join(dataDir, 'store', 'messages.db');
}
