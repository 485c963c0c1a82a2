import type { Database as Db, Statement } from 'better-sqlite3';
import { openSqlite } from '../phi-guard/sqlite-file';
import type { SqliteTarget } from '../phi-guard/sqlite-file';

/**
 * Due times of scheduled reminders. Rows hold ids, a keyed hash of the
 * appointment and times only: what a reminder says and to whom lives in the
 * message store's encrypted record with the same id.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS reminders (
  id              TEXT PRIMARY KEY,
  appointment_key TEXT NOT NULL,
  due_at          INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled')),
  changed_at      INTEGER NOT NULL,
  claimed_until   INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (state, due_at);
CREATE INDEX IF NOT EXISTS reminders_appointment ON reminders (appointment_key, state);
`;

export interface ScheduledReminder {
  id: string;
  appointmentKey: string;
  dueAt: Date;
}

export interface ReminderSchedule {
  add(reminders: ScheduledReminder[], now: Date): Promise<void>;
  /** Ids of the appointment's pending reminders. */
  pending(appointmentKey: string): Promise<string[]>;
  /** Marks the given pending reminders cancelled; returns those that were still pending. */
  cancel(ids: string[], now: Date): Promise<string[]>;
  /**
   * Pending reminders due at or before `now`, earliest first, claimed for
   * {@link REMINDER_CLAIM_MS}: no other call (in this or another hub process
   * sharing the schedule) hands them out again until they are fired or
   * released, or the claim lapses (the claimant crashed).
   */
  due(now: Date, limit: number): Promise<ScheduledReminder[]>;
  /** Gives claimed reminders back (their hand-off failed): due again at once. */
  release(ids: string[]): Promise<void>;
  markFired(id: string, now: Date): Promise<void>;
  /** Pending again, due at `dueAt` (a reminder the sender deferred for quiet hours). */
  reschedule(id: string, dueAt: Date, now: Date): Promise<void>;
  close(): Promise<void>;
}

/** How long a reminder handed out by `due()` stays claimed without being fired or released. */
export const REMINDER_CLAIM_MS = 60_000;

/**
 * The schedule in SQLite (WAL, synchronous=FULL, like the other provider
 * state): a reminder scheduled before a crash or a restart still fires,
 * late if the hub was down at its due time.
 */
export class SqliteReminderSchedule implements ReminderSchedule {
  private readonly db: Db;
  private readonly owned: boolean;
  private readonly insert: Statement<[string, string, number, number]>;
  private readonly selectPending: Statement<[string]>;
  private readonly cancelOne: Statement<[number, string]>;
  private readonly selectDue: Statement<[number, number, number]>;
  private readonly claim: Statement<[number, string]>;
  private readonly unclaim: Statement<[string]>;
  private readonly fire: Statement<[number, string]>;
  private readonly again: Statement<[number, number, string]>;
  private closed = false;

  /** @param target - `{ file }` to open (and own), or `{ db }` to share */
  constructor(target: SqliteTarget) {
    ({ db: this.db, owned: this.owned } = openSqlite(target));
    this.db.exec(SCHEMA);
    // Schedules written before claims existed.
    const columns = (this.db.pragma('table_info(reminders)') as { name: string }[]).map((c) => c.name);
    if (!columns.includes('claimed_until')) this.db.exec('ALTER TABLE reminders ADD COLUMN claimed_until INTEGER');
    this.insert = this.db.prepare("INSERT OR IGNORE INTO reminders (id, appointment_key, due_at, state, changed_at) VALUES (?, ?, ?, 'pending', ?)");
    this.selectPending = this.db.prepare("SELECT id FROM reminders WHERE appointment_key = ? AND state = 'pending' ORDER BY due_at");
    this.cancelOne = this.db.prepare("UPDATE reminders SET state = 'cancelled', changed_at = ? WHERE id = ? AND state = 'pending'");
    this.selectDue = this.db.prepare(
      "SELECT id, appointment_key AS appointmentKey, due_at AS dueAt FROM reminders WHERE state = 'pending' AND due_at <= ? AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY due_at, id LIMIT ?",
    );
    this.claim = this.db.prepare('UPDATE reminders SET claimed_until = ? WHERE id = ?');
    this.unclaim = this.db.prepare('UPDATE reminders SET claimed_until = NULL WHERE id = ?');
    this.fire = this.db.prepare("UPDATE reminders SET state = 'fired', changed_at = ? WHERE id = ?");
    // A cancelled reminder stays cancelled: the appointment went away while the SMS waited for the morning.
    this.again = this.db.prepare("UPDATE reminders SET state = 'pending', due_at = ?, changed_at = ?, claimed_until = NULL WHERE id = ? AND state = 'fired'");
  }

  async add(reminders: ScheduledReminder[], now: Date): Promise<void> {
    this.db.transaction(() => {
      for (const r of reminders) this.insert.run(r.id, r.appointmentKey, r.dueAt.getTime(), now.getTime());
    }).immediate();
  }

  async pending(appointmentKey: string): Promise<string[]> {
    return (this.selectPending.all(appointmentKey) as { id: string }[]).map((r) => r.id);
  }

  async cancel(ids: string[], now: Date): Promise<string[]> {
    return this.db.transaction(() => ids.filter((id) => this.cancelOne.run(now.getTime(), id).changes > 0)).immediate();
  }

  async due(now: Date, limit: number): Promise<ScheduledReminder[]> {
    const t = now.getTime();
    return this.db
      .transaction(() => {
        const rows = this.selectDue.all(t, t, limit) as { id: string; appointmentKey: string; dueAt: number }[];
        for (const r of rows) this.claim.run(t + REMINDER_CLAIM_MS, r.id);
        return rows;
      })
      .immediate()
      .map((r) => ({ id: r.id, appointmentKey: r.appointmentKey, dueAt: new Date(r.dueAt) }));
  }

  async release(ids: string[]): Promise<void> {
    this.db.transaction(() => ids.forEach((id) => this.unclaim.run(id))).immediate();
  }

  async markFired(id: string, now: Date): Promise<void> {
    this.fire.run(now.getTime(), id);
  }

  async reschedule(id: string, dueAt: Date, now: Date): Promise<void> {
    this.again.run(dueAt.getTime(), now.getTime(), id);
  }

  /** Every reminder still to send: what PostgresReminderSchedule carries over when the hub moves to PostgreSQL. */
  pendingReminders(): ScheduledReminder[] {
    return (this.db.prepare("SELECT id, appointment_key AS appointmentKey, due_at AS dueAt FROM reminders WHERE state = 'pending' ORDER BY due_at, id").all() as { id: string; appointmentKey: string; dueAt: number }[]).map(
      (r) => ({ id: r.id, appointmentKey: r.appointmentKey, dueAt: new Date(r.dueAt) }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.db.close();
  }
}
