import { newMessageId } from '../store/message-id';
import { QueueConfigError, QueueMessageError } from './errors';
import type { EnqueueInput } from './types';

/** Queue names become broker object names: keep them to what SQS, RabbitMQ and SQLite all accept unquoted. */
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Ids and keys end up in SQS `MessageDeduplicationId`/`MessageGroupId` (≤ 128, printable ASCII). */
const ID_OR_KEY = /^[\x21-\x7e]{1,100}$/;
const HEADER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_HEADERS_BYTES = 8192;

export function checkQueueName(queue: string): void {
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw new QueueConfigError('queue names are 1-64 characters of A-Z, a-z, 0-9, _ and -');
  }
}

/** A validated enqueue: id assigned, body as bytes. */
export interface NormalizedInput {
  id: string;
  key: string | null;
  body: Buffer;
  headers: Record<string, string>;
}

/**
 * Checks and normalises what a producer passed. Errors name the rule, never
 * the offending value (a header value could be anything).
 * @param input - the producer's message
 * @param maxBodyBytes - the backend's limit
 * @param now - epoch ms, for a generated UUIDv7 id
 */
export function normalizeInput(input: EnqueueInput, maxBodyBytes: number, now: number): NormalizedInput {
  const id = input.id ?? newMessageId(now);
  if (!ID_OR_KEY.test(id)) throw new QueueMessageError('message ids are 1-100 printable ASCII characters without spaces');
  const key = input.key ?? null;
  if (key !== null && !ID_OR_KEY.test(key)) throw new QueueMessageError(`ordering key of message ${id} must be 1-100 printable ASCII characters without spaces`);
  const body = typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  if (!Buffer.isBuffer(body)) throw new QueueMessageError(`body of message ${id} must be a Buffer or a string`);
  if (body.length > maxBodyBytes) throw new QueueMessageError(`message ${id} is ${body.length} bytes; this queue backend takes at most ${maxBodyBytes}`);
  return { id, key, body, headers: checkHeaders(input.headers ?? {}, id) };
}

export function checkHeaders(headers: Record<string, string>, id: string): Record<string, string> {
  let bytes = 0;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) throw new QueueMessageError(`header names of message ${id} must be 1-64 characters of A-Z, a-z, 0-9, _, . and -`);
    if (typeof value !== 'string') throw new QueueMessageError(`header ${name} of message ${id} must be a string`);
    bytes += name.length + Buffer.byteLength(value);
    out[name] = value;
  }
  if (bytes > MAX_HEADERS_BYTES) throw new QueueMessageError(`headers of message ${id} exceed ${MAX_HEADERS_BYTES} bytes`);
  return out;
}
