import type { Pool } from 'pg';
import { pgTablesReady } from '../shared/pg-tables';
import { REMINDER_CLAIM_MS } from './reminder-schedule';
import type { ReminderSchedule, ScheduledReminder } from './reminder-schedule';

const DDL = `
CREATE TABLE IF NOT EXISTS reminders (
  id              TEXT PRIMARY KEY,
  appointment_key TEXT NOT NULL,
  due_at          BIGINT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'fired', 'cancelled')),
  changed_at      BIGINT NOT NULL,
  claimed_until   BIGINT
);
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (state, due_at);
CREATE INDEX IF NOT EXISTS reminders_appointment ON reminders (appointment_key, state);
`;

/**
 * The reminder schedule in the hub's PostgreSQL database, for hub processes
 * sharing the store: an appointment booked through one process and moved or
 * cancelled through another has one schedule, and each due reminder is
 * claimed by one process (FOR UPDATE SKIP LOCKED), so it is handed to the
 * queue once. A claimant that dies mid-round loses its claim after
 * REMINDER_CLAIM_MS and another process fires the reminder (the SMS sender's
 * shared sent registry still stops a second text). Ids, keyed hashes and
 * times only.
 */
export class PostgresReminderSchedule implements ReminderSchedule {
  private readonly ready: Promise<void>;

  /**
   * @param pool - the store's pool (not ended by close())
   * @param options - `carryOver`: reminders scheduled before the hub moved to PostgreSQL (the process's SQLite
   *   schedule), added before anything else reads the schedule; one already known here keeps its state
   */
  constructor(
    private readonly pool: Pool,
    options: { carryOver?: () => ScheduledReminder[] } = {},
  ) {
    const carryOver = options.carryOver;
    this.ready = pgTablesReady(pool, DDL).then(() => (carryOver ? this.insert(carryOver(), new Date()) : undefined));
    this.ready.catch(() => undefined);
  }

  async add(reminders: ScheduledReminder[], now: Date): Promise<void> {
    await this.ready;
    await this.insert(reminders, now);
  }

  private async insert(reminders: ScheduledReminder[], now: Date): Promise<void> {
    if (reminders.length === 0) return;
    await this.pool.query(
      `INSERT INTO reminders (id, appointment_key, due_at, state, changed_at)
       SELECT id, key, due, 'pending', $4 FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS r(id, key, due)
       ON CONFLICT (id) DO NOTHING`,
      [reminders.map((r) => r.id), reminders.map((r) => r.appointmentKey), reminders.map((r) => r.dueAt.getTime()), now.getTime()],
    );
  }

  async pending(appointmentKey: string): Promise<string[]> {
    await this.ready;
    const res = await this.pool.query("SELECT id FROM reminders WHERE appointment_key = $1 AND state = 'pending' ORDER BY due_at", [appointmentKey]);
    return (res.rows as { id: string }[]).map((r) => r.id);
  }

  async cancel(ids: string[], now: Date): Promise<string[]> {
    await this.ready;
    if (ids.length === 0) return [];
    const res = await this.pool.query("UPDATE reminders SET state = 'cancelled', changed_at = $2 WHERE id = ANY($1::text[]) AND state = 'pending' RETURNING id", [ids, now.getTime()]);
    const cancelled = new Set((res.rows as { id: string }[]).map((r) => r.id));
    return ids.filter((id) => cancelled.has(id));
  }

  async due(now: Date, limit: number): Promise<ScheduledReminder[]> {
    await this.ready;
    const t = now.getTime();
    const res = await this.pool.query(
      `UPDATE reminders SET claimed_until = $3 WHERE id IN (
         SELECT id FROM reminders WHERE state = 'pending' AND due_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
         ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
       RETURNING id, appointment_key, due_at`,
      [t, limit, t + REMINDER_CLAIM_MS],
    );
    return (res.rows as { id: string; appointment_key: string; due_at: string }[])
      .map((r) => ({ id: r.id, appointmentKey: r.appointment_key, dueAt: new Date(Number(r.due_at)) }))
      .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async release(ids: string[]): Promise<void> {
    await this.ready;
    if (ids.length > 0) await this.pool.query('UPDATE reminders SET claimed_until = NULL WHERE id = ANY($1::text[])', [ids]);
  }

  async markFired(id: string, now: Date): Promise<void> {
    await this.ready;
    await this.pool.query("UPDATE reminders SET state = 'fired', changed_at = $2 WHERE id = $1", [id, now.getTime()]);
  }

  async reschedule(id: string, dueAt: Date, now: Date): Promise<void> {
    await this.ready;
    // A cancelled reminder stays cancelled: the appointment went away while the SMS waited for the morning.
    await this.pool.query("UPDATE reminders SET state = 'pending', due_at = $2, changed_at = $3, claimed_until = NULL WHERE id = $1 AND state = 'fired'", [id, dueAt.getTime(), now.getTime()]);
  }

  /** The pool belongs to the store. */
  async close(): Promise<void> {}
}
