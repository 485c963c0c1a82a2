/** Patient messaging that is not a provider: appointment reminders. Plain TypeScript; never imports node-red. */
export { appointmentFromEmrEvent, appointmentFromSiu, hl7DateTime, parseOffsets } from './appointment';
export type { AppointmentChange, ReminderContact } from './appointment';
export { REMINDER_CLAIM_MS, SqliteReminderSchedule } from './reminder-schedule';
export { PostgresReminderSchedule } from './postgres-reminder-schedule';
export type { ReminderSchedule, ScheduledReminder } from './reminder-schedule';
export { ReminderScheduler } from './reminder-scheduler';
export type { ApplyResult, ReminderPayload, ReminderRecords, ReminderSchedulerDeps, ReminderSchedulerOptions } from './reminder-scheduler';
