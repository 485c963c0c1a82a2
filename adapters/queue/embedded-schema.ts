/**
 * SQLite schema of the embedded queue (its own file, `<data>/queue/queue.db`,
 * so queue traffic never waits on the message store's writer). Times are epoch
 * ms; bodies are sealed envelopes (body-envelope.ts).
 *
 * Live messages and dead letters are separate tables: the hot table only holds
 * work, so its indexes stay small and counting it stays cheap.
 *
 * `head` makes per-key FIFO a plain index lookup: a message is a head when no
 * earlier live message of its queue shares its ordering key (`okey`, set only
 * on `ordering: 'key'` queues). Only heads are leased, and a head stays a head
 * while it is leased or waiting out a retry, so its key is blocked until it is
 * acknowledged or dead-lettered; then the next message of the key is promoted.
 */
export const EMBEDDED_QUEUE_SCHEMA = `
CREATE TABLE IF NOT EXISTS queue_names (
  qid INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS queue_messages (
  seq INTEGER PRIMARY KEY,
  qid INTEGER NOT NULL,
  id TEXT NOT NULL,
  msg_key TEXT,
  okey TEXT,
  head INTEGER NOT NULL,
  state INTEGER NOT NULL,
  visible_at INTEGER NOT NULL,
  lease INTEGER,
  deliveries INTEGER NOT NULL,
  first_enqueued_at INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  headers TEXT,
  history TEXT,
  size INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_messages_due ON queue_messages (qid, state, head, visible_at);
CREATE INDEX IF NOT EXISTS queue_messages_key ON queue_messages (qid, okey) WHERE okey IS NOT NULL;
CREATE INDEX IF NOT EXISTS queue_messages_age ON queue_messages (qid);
CREATE TABLE IF NOT EXISTS queue_dead (
  seq INTEGER PRIMARY KEY,
  qid INTEGER NOT NULL,
  id TEXT NOT NULL,
  msg_key TEXT,
  attempts INTEGER NOT NULL,
  first_enqueued_at INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  dead_at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  error_code TEXT,
  headers TEXT,
  history TEXT,
  size INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_dead_id ON queue_dead (qid, id);
CREATE INDEX IF NOT EXISTS queue_dead_queue ON queue_dead (qid);
`;

/** `state` values of queue_messages. */
export const STATE_WAITING = 0;
export const STATE_LEASED = 1;
