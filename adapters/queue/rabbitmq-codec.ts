import type { Options } from 'amqplib';
import type { BodyCipher } from '../store/body-cipher';
import { openBody, sealBody } from './body-envelope';
import { QueueMessageError } from './errors';
import { headersFromJson, historyFromJson, historyToJson } from './history-codec';
import type { DeadLetterReason, HistoryEntry } from './types';

/**
 * A hub message as an AMQP message: the body as the content (sealed when the
 * adapter has a cipher), the hub metadata in `x-hub-*` headers, the id as
 * `messageId`, persistent. The producer's headers travel as one JSON header
 * so they can never collide with ours or RabbitMQ's `x-death`.
 */
export interface WireMessage {
  id: string;
  key: string | null;
  headers: Record<string, string>;
  /** Failed attempts so far; the next delivery is attempt `attempts + 1`. */
  attempts: number;
  firstEnqueuedAt: number;
  enqueuedAt: number;
  history: HistoryEntry[];
  body: Buffer;
  dead?: { at: number; reason: DeadLetterReason; errorCode: string | null };
}

const H = {
  attempts: 'x-hub-attempts',
  first: 'x-hub-first',
  enqueued: 'x-hub-enqueued',
  key: 'x-hub-key',
  headers: 'x-hub-headers',
  history: 'x-hub-history',
  sealed: 'x-hub-sealed',
  deadAt: 'x-hub-dead-at',
  reason: 'x-hub-reason',
  error: 'x-hub-error',
} as const;

const REASONS: readonly DeadLetterReason[] = ['permanent', 'max-attempts', 'deadline', 'redrive'];

export function encodeWire(m: WireMessage, cipher: BodyCipher | undefined): { content: Buffer; options: Options.Publish } {
  // Defaults are left out: every header costs encoding time on each message.
  const headers: Record<string, unknown> = { [H.first]: m.firstEnqueuedAt };
  if (m.attempts !== 0) headers[H.attempts] = m.attempts;
  if (m.enqueuedAt !== m.firstEnqueuedAt) headers[H.enqueued] = m.enqueuedAt;
  if (m.key !== null) headers[H.key] = m.key;
  if (Object.keys(m.headers).length > 0) headers[H.headers] = JSON.stringify(m.headers);
  if (m.history.length > 0) headers[H.history] = historyToJson(m.history);
  if (cipher) headers[H.sealed] = 1;
  if (m.dead) {
    headers[H.deadAt] = m.dead.at;
    headers[H.reason] = m.dead.reason;
    if (m.dead.errorCode !== null) headers[H.error] = m.dead.errorCode;
  }
  return {
    content: cipher ? sealBody(cipher, m.id, m.body) : m.body,
    options: { persistent: true, messageId: m.id, contentType: 'application/octet-stream', timestamp: Math.floor(m.enqueuedAt / 1000), headers },
  };
}

/**
 * Reads a delivered message back. Throws {@link QueueMessageError} for one
 * that was not published by this adapter. A sealed body that cannot be
 * opened is reported in `bodyError` (with the raw content as `body`), so the
 * consumer can still dead-letter the message under its id.
 */
export function decodeWire(
  content: Buffer,
  properties: { messageId?: unknown; headers?: Record<string, unknown> },
  cipher: BodyCipher | undefined,
): WireMessage & { bodyError?: unknown } {
  const h = properties.headers ?? {};
  const id = typeof properties.messageId === 'string' ? properties.messageId : null;
  const first = num(h[H.first]);
  if (id === null || first === null) throw new QueueMessageError('an AMQP message without hub metadata arrived on a hub queue');
  let body = content;
  let bodyError: unknown;
  if (h[H.sealed] !== undefined) {
    try {
      if (!cipher) throw new QueueMessageError(`message ${id} is sealed but this adapter has no cipher`);
      body = openBody(cipher, id, content);
    } catch (err) {
      bodyError = err;
    }
  }
  const deadAt = num(h[H.deadAt]);
  const reason = REASONS.find((r) => r === str(h[H.reason])) ?? 'permanent';
  return {
    id,
    key: str(h[H.key]),
    headers: headersFromJson(str(h[H.headers])),
    attempts: num(h[H.attempts]) ?? 0,
    firstEnqueuedAt: first,
    enqueuedAt: num(h[H.enqueued]) ?? first,
    history: historyFromJson(str(h[H.history])),
    body,
    dead: deadAt === null ? undefined : { at: deadAt, reason, errorCode: str(h[H.error]) },
    ...(bodyError === undefined ? {} : { bodyError }),
  };
}

function num(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return null;
}

function str(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return null;
}
