import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canarySiu as siu } from '../../test/fixtures/siu';
import { disposeThrowawayPools, onThrowawayPool, schemaPool, throwawayPool } from '../../test/support/postgres';
import { appointmentFromEmrEvent, appointmentFromSiu, parseOffsets, PostgresReminderSchedule, REMINDER_CLAIM_MS, ReminderScheduler, SqliteReminderSchedule } from './index';
import type { ReminderPayload, ReminderRecords, ReminderSchedule } from './index';

const TZ = 'America/New_York';

class MemoryRecords implements ReminderRecords {
  readonly rows = new Map<string, { payload: ReminderPayload; dueAt: Date; cancelled: boolean }>();
  private n = 0;
  async create(payload: ReminderPayload, dueAt: Date): Promise<string> {
    this.n += 1;
    const id = `rem-${this.n}`;
    this.rows.set(id, { payload, dueAt, cancelled: false });
    return id;
  }
  async read(id: string): Promise<ReminderPayload | null> {
    return this.rows.get(id)?.payload ?? null;
  }
  async cancelled(id: string): Promise<void> {
    this.rows.get(id)!.cancelled = true;
  }
}

describe('appointments from SIU and EMR events', () => {
  test('S12: appointment id, start read in the clinic zone, E.164 phone and the address from PID-13', () => {
    const c = appointmentFromSiu(siu('S12', { phone: '6175550123', email: 'pat@example.org' }), TZ);
    expect(c).toEqual({ action: 'book', appointmentId: 'APPT-77', start: new Date('2026-12-10T19:30:00Z'), contact: { phone: '+16175550123', email: 'pat@example.org' } });
  });

  test('an explicit offset wins over the clinic zone', () => {
    const c = appointmentFromSiu(siu('S14', { start: '202612101430+0100', phone: '+4915112345678' }), TZ);
    expect(c).toMatchObject({ action: 'book', start: new Date('2026-12-10T13:30:00Z'), contact: { phone: '+4915112345678' } });
  });

  test('S15 cancels; an unknown trigger or a missing start is a PARSE error that never quotes the message', () => {
    expect(appointmentFromSiu(siu('S15'), TZ)).toEqual({ action: 'cancel', appointmentId: 'APPT-77' });
    expect(() => appointmentFromSiu(siu('S26'), TZ)).toThrow(expect.objectContaining({ code: 'PARSE', retryable: false }));
    try {
      appointmentFromSiu(siu('S12', { start: 'not-a-time' }), TZ);
      throw new Error('expected a PARSE error');
    } catch (err) {
      expect((err as Error).message).not.toMatch(/CANARY|not-a-time/);
    }
  });

  test('EMR events: cancelled status cancels, another status books without contact points', () => {
    expect(appointmentFromEmrEvent({ appointmentId: 'A1', status: 'cancelled', start: '2026-12-10T14:30:00-05:00' })).toEqual({ action: 'cancel', appointmentId: 'A1' });
    expect(appointmentFromEmrEvent({ appointmentId: 'A1', status: 'booked', start: '2026-12-10T14:30:00-05:00' })).toEqual({ action: 'book', appointmentId: 'A1', start: new Date('2026-12-10T19:30:00Z'), contact: {} });
  });

  test('offsets: 24h,2h,30m in ms, largest first; nonsense refused', () => {
    expect(parseOffsets('2h, 24h,30m')).toEqual([86_400_000, 7_200_000, 1_800_000]);
    expect(() => parseOffsets('2 hours')).toThrow(expect.objectContaining({ code: 'PARSE' }));
  });
});

afterEach(disposeThrowawayPools);
const postgresSchedule = onThrowawayPool('hub_reminders', (pool): ReminderSchedule => new PostgresReminderSchedule(pool));

describe.each([
  ['SQLite', async (): Promise<ReminderSchedule> => new SqliteReminderSchedule({ file: ':memory:' })],
  ['PostgreSQL', postgresSchedule],
])('ReminderScheduler over the %s schedule', (_name, open) => {
  let now = new Date('2026-12-08T12:00:00Z');
  const start = new Date('2026-12-10T19:30:00Z');
  const make = async (): Promise<{ scheduler: ReminderScheduler; records: MemoryRecords; schedule: ReminderSchedule }> => {
    const schedule = await open();
    const records = new MemoryRecords();
    const scheduler = new ReminderScheduler(
      { offsetsMs: parseOffsets('24h,2h'), timeZone: TZ, smsTemplate: 'Reminder from your care team: appointment {date} at {time}. Reply STOP to opt out.', email: true },
      { schedule, records, keyOf: (id) => `k:${id}`, clock: () => now },
    );
    return { scheduler, records, schedule };
  };
  beforeEach(() => {
    now = new Date('2026-12-08T12:00:00Z');
  });

  test('a booking schedules one reminder per offset and channel with time-only, PHI-free wording; they fire when due', async () => {
    const { scheduler, records, schedule } = await make();
    expect(await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123', email: 'p@example.org' } })).toEqual({ scheduled: 4, cancelled: 0, noContact: false });
    const sms = [...records.rows.values()].filter((r) => r.payload.channel === 'sms');
    expect(sms.map((r) => r.dueAt.toISOString())).toEqual(['2026-12-09T19:30:00.000Z', '2026-12-10T17:30:00.000Z']);
    expect(sms[0]!.payload).toEqual({ channel: 'sms', to: '+16175550123', text: 'Reminder from your care team: appointment Thu, Dec 10 at 2:30 PM. Reply STOP to opt out.' });
    const delivered: string[] = [];
    const deliver = async (id: string): Promise<void> => void delivered.push(id);
    expect(await scheduler.fireDue(deliver)).toBe(0);
    now = new Date('2026-12-09T19:30:00Z');
    expect(await scheduler.fireDue(deliver)).toBe(2);
    expect(await scheduler.fireDue(deliver)).toBe(0);
    expect(delivered).toEqual(['rem-1', 'rem-2']);
    await schedule.close();
  });

  test('a move (S14) cancels what was pending and reschedules with the contact points of the earlier booking', async () => {
    const { scheduler, records, schedule } = await make();
    await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    const moved = new Date('2026-12-11T15:00:00Z');
    expect(await scheduler.apply({ action: 'book', appointmentId: 'A', start: moved, contact: {} })).toEqual({ scheduled: 2, cancelled: 2, noContact: false });
    expect([...records.rows.values()].map((r) => [r.payload.channel === 'sms' && r.payload.to, r.cancelled])).toEqual([['+16175550123', true], ['+16175550123', true], ['+16175550123', false], ['+16175550123', false]]);
    now = new Date('2026-12-12T00:00:00Z');
    const delivered: string[] = [];
    await scheduler.fireDue(async (id) => void delivered.push(id));
    expect(delivered).toEqual(['rem-3', 'rem-4']);
    await schedule.close();
  });

  test('a cancellation (S15) leaves nothing to fire; a booking without contact points schedules nothing', async () => {
    const { scheduler, schedule } = await make();
    await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    expect(await scheduler.apply({ action: 'cancel', appointmentId: 'A' })).toEqual({ scheduled: 0, cancelled: 2, noContact: false });
    expect(await scheduler.apply({ action: 'book', appointmentId: 'B', start, contact: {} })).toEqual({ scheduled: 0, cancelled: 0, noContact: true });
    now = new Date('2026-12-11T00:00:00Z');
    expect(await scheduler.fireDue(async () => undefined)).toBe(0);
    await schedule.close();
  });

  test('offsets already past are skipped', async () => {
    const { scheduler, schedule } = await make();
    now = new Date('2026-12-10T12:00:00Z');
    expect((await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } })).scheduled).toBe(1);
    await schedule.close();
  });

  test('a failed hand-off leaves the reminder pending for the next round', async () => {
    const { scheduler, schedule } = await make();
    await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    now = new Date('2026-12-09T20:00:00Z');
    await expect(scheduler.fireDue(async () => Promise.reject(new Error('queue down')))).rejects.toThrow('queue down');
    const delivered: string[] = [];
    expect(await scheduler.fireDue(async (id) => void delivered.push(id))).toBe(1);
    expect(delivered).toEqual(['rem-1']);
    await schedule.close();
  });

  test('a reminder deferred for quiet hours fires again when they end, unless it was cancelled meanwhile', async () => {
    const { scheduler, schedule } = await make();
    await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    now = new Date('2026-12-10T18:00:00Z');
    const delivered: string[] = [];
    await scheduler.fireDue(async (id) => void delivered.push(id));
    expect(await scheduler.defer('rem-2', new Date('2026-12-10T18:30:00Z'))).toBe(true);
    expect(await scheduler.defer('not-a-reminder', new Date('2026-12-10T18:30:00Z'))).toBe(false);
    expect(await scheduler.fireDue(async (id) => void delivered.push(id))).toBe(0);
    now = new Date('2026-12-10T18:30:00Z');
    expect(await scheduler.fireDue(async (id) => void delivered.push(id))).toBe(1);
    expect(delivered).toEqual(['rem-1', 'rem-2', 'rem-2']);
    await schedule.close();
  });

  test('a reminder handed out by one round is not handed out by another until fired, released or its claim lapses', async () => {
    const { scheduler, schedule } = await make();
    await scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    now = new Date('2026-12-10T18:00:00Z');
    const first = await schedule.due(now, 10);
    expect(first).toHaveLength(2);
    expect(await schedule.due(now, 10)).toEqual([]);
    await schedule.release([first[1]!.id]);
    expect((await schedule.due(now, 10)).map((r) => r.id)).toEqual([first[1]!.id]);
    // The claimant died: after the claim, the reminder is due again.
    expect((await schedule.due(new Date(now.getTime() + REMINDER_CLAIM_MS), 10)).map((r) => r.id).sort()).toEqual(first.map((r) => r.id).sort());
    await schedule.close();
  });
});

describe('the SQLite schedule', () => {
  let now = new Date('2026-12-08T12:00:00Z');
  const start = new Date('2026-12-10T19:30:00Z');
  const makeOn = async (schedule: SqliteReminderSchedule): Promise<{ scheduler: ReminderScheduler; schedule: SqliteReminderSchedule }> => ({
    scheduler: new ReminderScheduler(
      { offsetsMs: parseOffsets('24h,2h'), timeZone: TZ, smsTemplate: 'Reminder: {date} at {time}.', email: false },
      { schedule, records: new MemoryRecords(), keyOf: (id) => `k:${id}`, clock: () => now },
    ),
    schedule,
  });

  test('the schedule survives a restart: a reminder due while the hub was down fires after it reopens', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'reminders-')), 'reminders.db');
    const first = await makeOn(new SqliteReminderSchedule({ file }));
    await first.scheduler.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    await first.schedule.close();
    const second = new SqliteReminderSchedule({ file });
    now = new Date('2026-12-10T18:00:00Z');
    expect((await second.due(now, 10)).map((r) => r.dueAt.toISOString())).toEqual(['2026-12-09T19:30:00.000Z', '2026-12-10T17:30:00.000Z']);
    await second.close();
  });
});

test('PostgreSQL: hub processes sharing the schedule cancel each other\'s reminders and fire each due reminder once', async () => {
  const pg = await throwawayPool('hub_reminders');
  const other = schemaPool(pg.schema);
  try {
    let now = new Date('2026-12-08T12:00:00Z');
    const records = new MemoryRecords();
    const hub = (schedule: ReminderSchedule): ReminderScheduler =>
      new ReminderScheduler({ offsetsMs: parseOffsets('24h,2h'), timeZone: TZ, smsTemplate: 'Reminder: {date} at {time}.', email: false }, { schedule, records, keyOf: (id) => `k:${id}`, clock: () => now });
    const a = hub(new PostgresReminderSchedule(pg.pool));
    const b = hub(new PostgresReminderSchedule(other));
    const start = new Date('2026-12-10T19:30:00Z');
    await a.apply({ action: 'book', appointmentId: 'A', start, contact: { phone: '+16175550123' } });
    await a.apply({ action: 'book', appointmentId: 'B', start, contact: { phone: '+16175550124' } });
    // Appointment A is cancelled through the other process.
    expect(await b.apply({ action: 'cancel', appointmentId: 'A' })).toMatchObject({ cancelled: 2 });
    now = new Date('2026-12-10T19:00:00Z');
    const delivered: string[] = [];
    const deliver = async (id: string): Promise<void> => void delivered.push(id);
    await Promise.all([a.fireDue(deliver), b.fireDue(deliver), a.fireDue(deliver), b.fireDue(deliver)]);
    expect(delivered.sort()).toEqual(['rem-3', 'rem-4']);
  } finally {
    await other.end();
    await pg.dispose();
  }
});
