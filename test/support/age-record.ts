import Database from 'better-sqlite3';
import { join } from 'node:path';

/**
 * Makes a record of the SQLite store in `dataDir` look untouched for `ms`
 * longer (updated_at moved back), as a leftover of a run that stopped that
 * long ago would be. Staged or moved, wherever it sits.
 */
export function ageRecord(dataDir: string, id: string, ms: number): void {
  const db = new Database(join(dataDir, 'store', 'messages.db'));
  try {
    db.pragma('busy_timeout = 5000');
    for (const table of ['hub_messages', 'hub_messages_staged']) db.prepare(`UPDATE ${table} SET updated_at = updated_at - ? WHERE id = ?`).run(ms, id);
  } finally {
    db.close();
  }
}
