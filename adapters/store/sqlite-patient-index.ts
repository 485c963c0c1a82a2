import type { Database as Db } from 'better-sqlite3';
import { buildWhere, MESSAGE_COLUMNS } from './backend';
import type { RowFilter, RowQuery } from './backend';

/**
 * The SQLite store's patient index lives beside `hub_messages`, not on it.
 *
 * An index on (patient_key, received_at) puts each new message at the end of
 * its patient's range: with many patients in cycle, every row moved into
 * `hub_messages` dirties a different index page, a 4 KB WAL frame written
 * and later checkpointed per message. Profiled on the MLLP intake (bench:mllp,
 * 997 patients): half of the writer thread's bytes and a quarter of its CPU.
 *
 * So a moved row leaves a small entry in `hub_patient_pending` (append-only,
 * no index), and once PATIENT_MERGE_ROWS entries have gathered they go into
 * `hub_patient_index` in one sorted pass, where each patient's page is
 * written once for all of that patient's new messages. A search by patient
 * reads the index, the pending entries (at most a few thousand, scanned) and
 * the staging table, in one read transaction; every row is in exactly one of
 * them, because the move writes its pending entries and the merge empties
 * the pending table in the same transaction as the rows they replace.
 *
 * Column names differ from `hub_messages` (pk, at, mid) so that a filter
 * built for `hub_messages` by buildWhere still names that table's columns
 * in a join.
 */
export const PATIENT_PENDING_TABLE = 'hub_patient_pending';
export const PATIENT_INDEX_TABLE = 'hub_patient_index';

/**
 * Pending entries merged at once. The cost of a merge is one page per patient
 * with new messages, so a larger batch is cheaper per message; 8,192 keeps a
 * merge near 25-35 ms (measured with 997 patients) and the pending scan of a
 * patient search under a millisecond.
 */
export const PATIENT_MERGE_ROWS = 8192;

export const PATIENT_INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS ${PATIENT_PENDING_TABLE} (pk TEXT NOT NULL, at INTEGER NOT NULL, mid TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${PATIENT_INDEX_TABLE} (pk TEXT NOT NULL, at INTEGER NOT NULL, mid TEXT NOT NULL, PRIMARY KEY (pk, at, mid)) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS hub_messages_patient_unindex AFTER DELETE ON hub_messages WHEN old.patient_key IS NOT NULL BEGIN
  DELETE FROM ${PATIENT_INDEX_TABLE} WHERE pk = old.patient_key AND at = old.received_at AND mid = old.id;
END;
`;

/**
 * Stores made before the patient index moved out of `hub_messages` carry
 * `hub_messages_patient`: its entries are copied into the patient index and
 * the old index is dropped, once (one pass in index order).
 */
export function migratePatientIndex(db: Db): void {
  const old = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'hub_messages_patient'").get();
  if (old === undefined) return;
  db.transaction(() => {
    db.prepare(`INSERT OR IGNORE INTO ${PATIENT_INDEX_TABLE} (pk, at, mid) SELECT patient_key, received_at, id FROM hub_messages WHERE patient_key IS NOT NULL ORDER BY patient_key, received_at, id`).run();
    db.exec('DROP INDEX hub_messages_patient');
  })();
}

/**
 * Queues index entries for rows just moved into `hub_messages` (call inside
 * the move's transaction, before the staged rows are deleted).
 * @param limitSql - the move's own ` LIMIT n` (or ''), so the same oldest rows are taken
 * @returns entries queued
 */
export function queuePatientEntries(db: Db, stagedTable: string, limitSql: string): number {
  return db
    .prepare(`INSERT INTO ${PATIENT_PENDING_TABLE} (pk, at, mid) SELECT patient_key, received_at, id FROM (SELECT patient_key, received_at, id FROM ${stagedTable} ORDER BY rowid${limitSql}) WHERE patient_key IS NOT NULL`)
    .run().changes;
}

/** Index entry for a row inserted straight into `hub_messages` (a store without staging). */
export function indexPatientEntry(db: Db): (patientKey: string, receivedAt: number, id: string) => void {
  const stmt = db.prepare(`INSERT OR IGNORE INTO ${PATIENT_INDEX_TABLE} (pk, at, mid) VALUES (?, ?, ?)`);
  return (patientKey, receivedAt, id) => {
    stmt.run(patientKey, receivedAt, id);
  };
}

export function pendingPatientEntries(db: Db): number {
  return db.prepare(`SELECT COUNT(*) FROM ${PATIENT_PENDING_TABLE}`).pluck().get() as number;
}

/**
 * Moves every pending entry into the index, sorted, and empties the pending
 * table, in one transaction (the caller's, or its own). OR IGNORE: an entry
 * already indexed (a migrated store) must not stop the merge for ever.
 * @returns entries merged
 */
export function mergePatientEntries(db: Db): number {
  return db.transaction(() => {
    const merged = db.prepare(`INSERT OR IGNORE INTO ${PATIENT_INDEX_TABLE} (pk, at, mid) SELECT pk, at, mid FROM ${PATIENT_PENDING_TABLE} ORDER BY pk, at, mid`).run().changes;
    db.prepare(`DELETE FROM ${PATIENT_PENDING_TABLE}`).run();
    return merged;
  })();
}

/**
 * Drops pending entries whose message is gone (pruned before its entry was
 * merged; the delete trigger covers merged ones). One pass over the pending
 * table, which holds at most a merge's worth.
 */
export function dropOrphanPatientEntries(db: Db): number {
  return db.prepare(`DELETE FROM ${PATIENT_PENDING_TABLE} WHERE NOT EXISTS (SELECT 1 FROM hub_messages WHERE id = mid)`).run().changes;
}

export interface SqlWithValues {
  sql: string;
  values: unknown[];
}

/** The patient table under alias `t`, joined to its `hub_messages` rows (alias m). */
const JOINED = {
  p: `${PATIENT_INDEX_TABLE} AS p CROSS JOIN hub_messages AS m ON m.id = p.mid`,
  q: `${PATIENT_PENDING_TABLE} AS q CROSS JOIN hub_messages AS m ON m.id = q.mid`,
};

/** Conditions on the patient table alias `t`, ahead of the filter on `hub_messages` (alias m, unqualified). */
function patientWhere(t: string, query: RowFilter & { patientKey: string }, withRange: boolean): SqlWithValues {
  const { patientKey, ...rest } = query;
  const clauses = [`${t}.pk = ?`];
  const values: unknown[] = [patientKey];
  // The same bounds on the patient table's own time column let the index range do the work.
  if (withRange && rest.from !== undefined) {
    clauses.push(`${t}.at >= ?`);
    values.push(rest.from);
  }
  if (withRange && rest.to !== undefined) {
    clauses.push(`${t}.at < ?`);
    values.push(rest.to);
  }
  const after = 'after' in query ? (query as RowQuery).after : undefined;
  if (withRange && after) {
    clauses.push(`(${t}.at, ${t}.mid) < (?, ?)`);
    values.push(after.receivedAt, after.id);
  }
  const filter = buildWhere(rest, () => '?', after);
  if (filter.sql) clauses.push(filter.sql.replace(/^WHERE /, ''));
  return { sql: `WHERE ${clauses.join(' AND ')}`, values: [...values, ...filter.values] };
}

/**
 * A page of `hub_messages` rows for a patient search, newest first, from the
 * merged index (walked in its own order, stopping at the limit) and from the
 * pending entries. The staging table is searched as for any other filter.
 * CROSS JOIN keeps SQLite from starting at `hub_messages` and its
 * time index, which would read the whole table for a rare patient.
 */
export function patientPageSql(query: RowQuery & { patientKey: string }): { indexed: SqlWithValues; pending: SqlWithValues } {
  const indexed = patientWhere('p', query, true);
  const pending = patientWhere('q', query, false);
  return {
    indexed: {
      sql: `SELECT ${MESSAGE_COLUMNS} FROM ${JOINED.p} ${indexed.sql} ORDER BY p.at DESC, p.mid DESC LIMIT ?`,
      values: [...indexed.values, query.limit],
    },
    pending: {
      sql: `SELECT ${MESSAGE_COLUMNS} FROM ${JOINED.q} ${pending.sql} ORDER BY received_at DESC, id DESC LIMIT ?`,
      values: [...pending.values, query.limit],
    },
  };
}

/**
 * `SELECT <columns>` over the `hub_messages` rows of a patient filter, once
 * through the index and once through the pending entries (for counts and
 * aggregates: no order, no limit). Columns name `hub_messages` unqualified.
 */
export function patientSelectSql(columns: string, filter: RowFilter & { patientKey: string }, groupBy = ''): SqlWithValues[] {
  const indexed = patientWhere('p', filter, true);
  const pending = patientWhere('q', filter, false);
  return [
    { sql: `SELECT ${columns} FROM ${JOINED.p} ${indexed.sql}${groupBy}`, values: indexed.values },
    { sql: `SELECT ${columns} FROM ${JOINED.q} ${pending.sql}${groupBy}`, values: pending.values },
  ];
}
