import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { appointmentFromEmrEvent, appointmentFromSiu, parseOffsets, PostgresReminderSchedule, ReminderScheduler, SqliteReminderSchedule } from '../../adapters/messaging';
import type { AppointmentChange, ReminderPayload, ReminderRecords, ReminderSchedule } from '../../adapters/messaging';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import type { MessageStore } from '../../adapters/store';
import { hubServicesOrNull } from '../emr-out/outbound';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { envSetting } from '../shared/env-setting';
import { encodePayload } from '../shared/queue-payload';
import { withSqlite } from '../shared/provider-state';
import { setStatus } from '../shared/status';
import { providersDir } from '../x12-837p/hub-data';

interface ReminderSchedulerDef extends NodeDef {
  /** Hub queue due reminders are put on (a queue-in of the same name sends them). */
  queue: string;
  /** e.g. `24h,2h`, or `${HUB_REMINDER_OFFSETS}`; empty for {@link DEFAULT_OFFSETS}. */
  offsets: string;
  /** IANA zone for SIU times without offset and for the wording; empty for America/New_York. */
  timeZone: string;
  smsTemplate: string;
  email: boolean;
  /** Seconds between looks for due reminders. */
  interval: string | number;
}

type Msg = NodeMessage & Record<string, unknown>;

const DEFAULT_OFFSETS = '24h,2h';
const DEFAULT_TEMPLATE = 'Reminder from your care team: you have an appointment on {date} at {time}. Reply STOP to opt out.';
const DEFAULT_INTERVAL_S = 5;
const ENDPOINT = 'reminders';

/**
 * Schedules appointment reminders from SIU messages (msg.payload) or EMR
 * appointment events (msg.emrEvent), durably: due times in
 * `<data>/providers/reminders.db` (in the store's database with PostgreSQL,
 * shared by the hub processes), contents (recipient, wording) in the
 * message store's encrypted records, which the monitor lists as queued. Due
 * reminders go onto a hub queue with their record id as hub message id, so
 * the sender's retries and idempotency work as for any other message.
 */
export = function init(RED: NodeAPI): void {
  function ReminderSchedulerNode(this: Node, def: ReminderSchedulerDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const queueName = (def.queue ?? '').trim();
    const logger = nodeLogger(node);
    let scheduler: ReminderScheduler | undefined;
    let schedule: ReminderSchedule | undefined;
    let timer: NodeJS.Timeout | undefined;
    let firing: Promise<void> = Promise.resolve();
    let closed = false;
    let scheduled = 0;

    try {
      const services = hubServicesOrNull();
      if (!services?.queue) throw new IntegrationError("the hub's message store and queue are needed", 'CONFIG', false);
      const { store, queue } = services;
      const dir = providersDir(RED);
      // With a PostgreSQL store, hub processes share one schedule (a booking and its cancellation may reach different ones).
      const pool = store.sharedPool;
      const file = dir ? join(dir, 'reminders.db') : ':memory:';
      // Reminders this process scheduled before the store moved to PostgreSQL still go out (carried over first).
      const carryOver = pool && file !== ':memory:' && existsSync(file) ? () => withSqlite(() => new SqliteReminderSchedule({ file }), (s) => s.pendingReminders()) : undefined;
      schedule = pool ? new PostgresReminderSchedule(pool, carryOver ? { carryOver } : {}) : new SqliteReminderSchedule({ file });
      scheduler = new ReminderScheduler(
        {
          offsetsMs: parseOffsets(envSetting(def.offsets) || DEFAULT_OFFSETS),
          timeZone: envSetting(def.timeZone) || 'America/New_York',
          smsTemplate: (def.smsTemplate ?? '').trim() || DEFAULT_TEMPLATE,
          email: def.email === true,
        },
        { schedule, records: storeRecords(store, node), keyOf: (id) => store.patientKey(`appointment-reminder:${id}`), logger },
      );
      const declared = queue.declareQueue(queueName);
      const deliver = async (id: string, payload: ReminderPayload): Promise<void> => {
        await declared;
        await queue.enqueue(queueName, { id, key: null, ...encodePayload({ payload, messageType: payload.channel === 'sms' ? 'SMS' : 'email' }) });
      };
      const intervalS = Number(def.interval);
      const tick = (): void => {
        firing = firing
          .then(() => scheduler!.fireDue(deliver))
          .then(
            () => undefined,
            (err: unknown) => {
              // Left pending: the next tick tries again.
              setStatus(node, 'error', RED._('reminder-scheduler.status.error', { code: errorCode(err) }));
            },
          );
      };
      timer = setInterval(tick, (Number.isFinite(intervalS) && intervalS > 0 ? intervalS : DEFAULT_INTERVAL_S) * 1000);
      // A restart after downtime sends what fell due meanwhile without waiting a full interval.
      setImmediate(() => closed || tick());
      setStatus(node, 'connected', RED._('reminder-scheduler.status.ready', { queue: queueName }));
    } catch (err) {
      void schedule?.close();
      scheduler = undefined;
      node.error(RED._('reminder-scheduler.errors.config', { reason: err instanceof Error ? err.message : String(err) }));
      setStatus(node, 'error', RED._('reminder-scheduler.status.error', { code: errorCode(err) === 'UNKNOWN' ? 'CONFIG' : errorCode(err) }));
    }

    node.on('input', (msg: Msg, send, done) => {
      if (!scheduler) {
        msg.retryable = false;
        done(new IntegrationError('reminder scheduler is not configured', 'CONFIG', false));
        return;
      }
      const sms = msg.sms as { outcome?: string; until?: unknown } | undefined;
      if (sms?.outcome === 'deferred' && typeof msg.hubMessageId === 'string') {
        const until = new Date(sms.until instanceof Date || typeof sms.until === 'string' ? sms.until : NaN);
        if (Number.isNaN(until.getTime())) {
          msg.retryable = false;
          done(new IntegrationError('deferred SMS without a valid sms.until', 'PARSE', false));
          return;
        }
        scheduler.defer(msg.hubMessageId, until).then(
          (known) => {
            msg.reminders = { deferred: known };
            send(msg);
            // An SMS that is no reminder cannot wait here; failing it lets its queue retry it later.
            done(known ? undefined : new IntegrationError('a deferred SMS that is not a scheduled reminder cannot be held', 'CONFIG', true));
          },
          (err: unknown) => done(err as Error),
        );
        return;
      }
      let change: AppointmentChange;
      try {
        const event = msg.emrEvent as { type?: string; appointment?: { appointmentId: string; status: string; start: string } } | undefined;
        if (event?.appointment && typeof event.type === 'string' && event.type.startsWith('appointment.')) change = appointmentFromEmrEvent(event.appointment);
        else if (typeof msg.payload === 'string') change = appointmentFromSiu(msg.payload, envSetting(def.timeZone) || 'America/New_York');
        else throw new IntegrationError('msg.payload is neither an SIU nor an EMR appointment event', 'PARSE', false);
      } catch (err) {
        msg.retryable = false;
        setStatus(node, 'error', RED._('reminder-scheduler.status.error', { code: errorCode(err) }));
        done(err as Error);
        return;
      }
      scheduler.apply(change).then(
        (result) => {
          scheduled += result.scheduled;
          msg.reminders = result;
          setStatus(node, 'connected', RED._('reminder-scheduler.status.scheduled', { count: scheduled }));
          send(msg);
          done();
        },
        (err: unknown) => {
          msg.retryable = true;
          setStatus(node, 'error', RED._('reminder-scheduler.status.error', { code: errorCode(err) }));
          done(err as Error);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearInterval(timer);
      void firing
        .then(() => schedule?.close())
        .catch((err: unknown) => node.warn(RED._('reminder-scheduler.errors.close', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }
  RED.nodes.registerType('reminder-scheduler', ReminderSchedulerNode);
};

function storeRecords(store: MessageStore, node: Node): ReminderRecords {
  return {
    async create(payload, dueAt) {
      const record = await store.insert({
        flowId: node.z ?? null,
        nodeId: node.id,
        direction: 'outbound',
        endpoint: ENDPOINT,
        // The due time is the control id: an operator sees when it goes out, and it is no patient data.
        controlId: dueAt.toISOString(),
        messageType: payload.channel === 'sms' ? 'SMS' : 'email',
        status: 'queued',
        contentType: 'application/json',
        body: JSON.stringify(payload),
      });
      return record.id;
    },
    async read(id) {
      const record = await store.get(id, { includeBody: true });
      if (!record?.body) return null;
      return JSON.parse(record.body.toString('utf8')) as ReminderPayload;
    },
    async cancelled(id) {
      await store.update(id, { status: 'filtered', errorCode: 'CANCELLED', errorText: 'appointment cancelled or moved' });
    },
  };
}
