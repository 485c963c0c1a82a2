import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where provider state lives: a file the adapter opens (and closes), or a database the caller owns. */
export type SqliteTarget = { file: string } | { db: Db };

/** An open database and whether closing it is ours to do. */
export interface OpenedSqlite {
  db: Db;
  owned: boolean;
}

/**
 * Opens a provider-state database. WAL with `synchronous=FULL`, like the
 * message store: an opt-out or a sent mark must survive a power cut, or the
 * next send could text someone who said STOP, or send twice.
 * @param target - a file path (created with its directory) or an open database
 */
export function openSqlite(target: SqliteTarget): OpenedSqlite {
  if ('db' in target) return { db: target.db, owned: false };
  if (target.file !== ':memory:') mkdirSync(dirname(target.file), { recursive: true });
  const db = new Database(target.file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  return { db, owned: true };
}
