import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import type { AppointmentChange, ReminderContact } from './appointment';
import type { ReminderSchedule } from './reminder-schedule';

/** What one reminder sends, as queued for the channel's sender node. No clinical content: times only. */
export type ReminderPayload =
  | { channel: 'sms'; to: string; text: string }
  | { channel: 'email'; to: string; templateData: { date: string; time: string } };

/**
 * Where reminder contents are kept: the hub's message store (encrypted, in
 * the monitor as queued, then sent or filtered). The record id is the
 * reminder's id and, downstream, the provider's idempotency key.
 */
export interface ReminderRecords {
  create(payload: ReminderPayload, dueAt: Date): Promise<string>;
  read(id: string): Promise<ReminderPayload | null>;
  /** The reminder will not go out (appointment cancelled or moved). */
  cancelled(id: string): Promise<void>;
}

export interface ReminderSchedulerOptions {
  /** Milliseconds before the start, e.g. [86_400_000, 7_200_000]. */
  offsetsMs: number[];
  /** IANA zone the date and time are written in. */
  timeZone: string;
  /** SMS wording with `{date}` and `{time}`; content-free (no clinic type, no procedure). */
  smsTemplate: string;
  /** Also email the reminder when the appointment has an address. */
  email: boolean;
}

export interface ReminderSchedulerDeps {
  schedule: ReminderSchedule;
  records: ReminderRecords;
  /** Keyed hash of an appointment id (its id may be guessable; the key is not). */
  keyOf: (appointmentId: string) => string;
  clock?: () => Date;
  logger?: Logger;
}

export interface ApplyResult {
  scheduled: number;
  cancelled: number;
  /** Booked, but no phone or address known: nothing could be scheduled. */
  noContact: boolean;
}

/**
 * Appointment reminders at fixed offsets before the start. A booking
 * replaces whatever was pending for that appointment (S14/S13 moves it),
 * a cancellation cancels it; offsets already past are skipped. Due
 * reminders are handed to `deliver` (an enqueue on a durable queue) and
 * marked fired only after it resolved, so a crash in between sends the same
 * id again, which the sender's registry recognises as a duplicate.
 */
export class ReminderScheduler {
  private readonly clock: () => Date;
  private readonly logger: Logger;

  constructor(
    private readonly options: ReminderSchedulerOptions,
    private readonly deps: ReminderSchedulerDeps,
  ) {
    this.clock = deps.clock ?? (() => new Date());
    this.logger = deps.logger ?? silentLogger;
  }

  /** @param change - the appointment as booked, moved or cancelled */
  async apply(change: AppointmentChange): Promise<ApplyResult> {
    const now = this.clock();
    const key = this.deps.keyOf(change.appointmentId);
    const earlier = await this.deps.schedule.pending(key);
    let contact: ReminderContact = change.action === 'book' ? change.contact : {};
    if (change.action === 'book' && !contact.phone && !contact.email) contact = await this.contactOf(earlier);
    const cancelled = await this.deps.schedule.cancel(earlier, now);
    for (const id of cancelled) await this.deps.records.cancelled(id);
    if (change.action === 'cancel') return { scheduled: 0, cancelled: cancelled.length, noContact: false };
    if (!contact.phone && !contact.email) return { scheduled: 0, cancelled: cancelled.length, noContact: true };

    const when = this.format(change.start);
    const rows = [];
    for (const offset of this.options.offsetsMs) {
      const dueAt = new Date(change.start.getTime() - offset);
      if (dueAt.getTime() <= now.getTime()) continue;
      if (contact.phone) rows.push({ id: await this.deps.records.create({ channel: 'sms', to: contact.phone, text: this.options.smsTemplate.replaceAll('{date}', when.date).replaceAll('{time}', when.time) }, dueAt), appointmentKey: key, dueAt });
      if (contact.email && this.options.email) rows.push({ id: await this.deps.records.create({ channel: 'email', to: contact.email, templateData: when }, dueAt), appointmentKey: key, dueAt });
    }
    await this.deps.schedule.add(rows, now);
    return { scheduled: rows.length, cancelled: cancelled.length, noContact: false };
  }

  /**
   * Hands every due reminder to `deliver`, oldest first.
   * @param deliver - durable hand-off (enqueue) of one reminder
   * @param limit - at most this many per call
   * @returns how many were handed off
   */
  async fireDue(deliver: (id: string, payload: ReminderPayload) => Promise<void>, limit = 100): Promise<number> {
    const due = await this.deps.schedule.due(this.clock(), limit);
    let fired = 0;
    try {
      for (const r of due) {
        const payload = await this.deps.records.read(r.id);
        if (payload) await deliver(r.id, payload);
        else this.logger.warn('scheduled reminder has no stored content; skipped', { id: r.id });
        await this.deps.schedule.markFired(r.id, this.clock());
        fired += 1;
      }
    } catch (err) {
      // What was not handed off is due again at the next round, here or in another hub process.
      await this.deps.schedule.release(due.slice(fired).map((r) => r.id)).catch(() => undefined);
      throw err;
    }
    return fired;
  }

  /**
   * A reminder the sender held back (quiet hours) goes out again at `until`.
   * @param id - the reminder's hub message id
   * @param until - when the quiet hours end
   * @returns false when `id` is not a reminder of this scheduler
   */
  async defer(id: string, until: Date): Promise<boolean> {
    if (!(await this.deps.records.read(id))) return false;
    await this.deps.schedule.reschedule(id, until, this.clock());
    return true;
  }

  private async contactOf(ids: string[]): Promise<ReminderContact> {
    const contact: ReminderContact = {};
    for (const id of ids) {
      const p = await this.deps.records.read(id);
      if (p?.channel === 'sms') contact.phone ??= p.to;
      if (p?.channel === 'email') contact.email ??= p.to;
    }
    return contact;
  }

  private format(start: Date): { date: string; time: string } {
    const tz = this.options.timeZone;
    return {
      date: new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', month: 'short', day: 'numeric' }).format(start),
      time: new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', minute: '2-digit' }).format(start),
    };
  }
}
