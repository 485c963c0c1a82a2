import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { BodyCipher } from '../store/body-cipher';
import { openBody, sealBody } from './body-envelope';
import { QueueMessageError } from './errors';
import { headersFromJson, historyFromJson, historyToJson } from './history-codec';
import type { DeadLetterReason, HistoryEntry } from './types';

/**
 * A hub message as an SQS message. SQS bodies are text, so the body travels
 * base64-encoded (sealed first when the adapter has a cipher); the hub
 * metadata is one JSON string attribute `hub` (SQS allows ten attributes,
 * and one keeps the metadata's size predictable).
 */
export interface SqsWire {
  id: string;
  key: string | null;
  headers: Record<string, string>;
  firstEnqueuedAt: number;
  enqueuedAt: number;
  history: HistoryEntry[];
  body: Buffer;
  /** Set on dead letters: when, why, and how many attempts were made. */
  dead?: { at: number; reason: DeadLetterReason; errorCode: string | null; attempts: number };
}

export const HUB_ATTRIBUTE = 'hub';

interface Meta {
  v: 1;
  id: string;
  key?: string;
  headers?: string;
  first: number;
  enq: number;
  history?: string;
  sealed?: 1;
  dead?: { at: number; reason: DeadLetterReason; code: string | null; attempts: number };
}

export function encodeSqs(w: SqsWire, cipher: BodyCipher | undefined): { body: string; attributes: Record<string, MessageAttributeValue> } {
  const meta: Meta = { v: 1, id: w.id, first: w.firstEnqueuedAt, enq: w.enqueuedAt };
  if (w.key !== null) meta.key = w.key;
  if (Object.keys(w.headers).length > 0) meta.headers = JSON.stringify(w.headers);
  if (w.history.length > 0) meta.history = historyToJson(w.history);
  if (cipher) meta.sealed = 1;
  if (w.dead) meta.dead = { at: w.dead.at, reason: w.dead.reason, code: w.dead.errorCode, attempts: w.dead.attempts };
  const content = cipher ? sealBody(cipher, w.id, w.body) : w.body;
  return { body: content.toString('base64'), attributes: { [HUB_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(meta) } } };
}

/**
 * Reads a received message back. Throws {@link QueueMessageError} for one
 * without hub metadata; a body that cannot be opened comes back as
 * `bodyError` so the message can still be dead-lettered under its id.
 */
export function decodeSqs(body: string | undefined, attributes: Record<string, MessageAttributeValue> | undefined, cipher: BodyCipher | undefined): SqsWire & { bodyError?: unknown } {
  let meta: Meta;
  try {
    meta = JSON.parse(attributes?.[HUB_ATTRIBUTE]?.StringValue ?? '') as Meta;
  } catch {
    throw new QueueMessageError('an SQS message without hub metadata arrived on a hub queue');
  }
  if (!meta || typeof meta.id !== 'string' || typeof meta.first !== 'number') throw new QueueMessageError('an SQS message without hub metadata arrived on a hub queue');
  const raw = Buffer.from(body ?? '', 'base64');
  let content: Buffer = raw;
  let bodyError: unknown;
  if (meta.sealed) {
    try {
      if (!cipher) throw new QueueMessageError(`message ${meta.id} is sealed but this adapter has no cipher`);
      content = openBody(cipher, meta.id, raw);
    } catch (err) {
      bodyError = err;
    }
  }
  return {
    id: meta.id,
    key: meta.key ?? null,
    headers: headersFromJson(meta.headers),
    firstEnqueuedAt: meta.first,
    enqueuedAt: typeof meta.enq === 'number' ? meta.enq : meta.first,
    history: historyFromJson(meta.history),
    body: content,
    dead: meta.dead ? { at: meta.dead.at, reason: meta.dead.reason, errorCode: meta.dead.code, attempts: meta.dead.attempts } : undefined,
    ...(bodyError === undefined ? {} : { bodyError }),
  };
}
