import { IntegrationError } from '../../adapters/shared/errors';
import { stringProp } from './msg-fields';

/**
 * How queue-out turns a msg into a queue message and queue-in turns it back.
 * A queue body is bytes, so the payload's type travels in a header; the
 * header values are type names and the msg's PHI-free metadata (message
 * type, control id), because headers are stored in the clear.
 */
export const PAYLOAD_TYPE_HEADER = 'hub-payload';
const MESSAGE_TYPE_HEADER = 'hub-message-type';
const CONTROL_ID_HEADER = 'hub-control-id';

type PayloadType = 'string' | 'buffer' | 'json';

/** Header values are capped so a long control id cannot push the headers over the queue's limit. */
const MAX_META_CHARS = 200;

export interface EncodedPayload {
  body: Buffer | string;
  headers: Record<string, string>;
}

/**
 * @param msg - the msg whose payload is queued
 * @returns the body and the headers that restore it
 */
export function encodePayload(msg: Record<string, unknown>): EncodedPayload {
  const payload = msg.payload;
  let type: PayloadType;
  let body: Buffer | string;
  if (Buffer.isBuffer(payload)) {
    type = 'buffer';
    body = payload;
  } else if (typeof payload === 'string') {
    type = 'string';
    body = payload;
  } else {
    type = 'json';
    try {
      body = JSON.stringify(payload ?? null);
    } catch (err) {
      // Circular structures or BigInts: the same msg fails again, so it is not retryable.
      throw new IntegrationError('msg.payload cannot be serialised as JSON for the queue', 'PARSE', false, { cause: err });
    }
  }
  const headers: Record<string, string> = { [PAYLOAD_TYPE_HEADER]: type };
  const messageType = stringProp(msg, 'messageType');
  const controlId = stringProp(msg, 'controlId');
  if (messageType) headers[MESSAGE_TYPE_HEADER] = messageType.slice(0, MAX_META_CHARS);
  if (controlId) headers[CONTROL_ID_HEADER] = controlId.slice(0, MAX_META_CHARS);
  return { body, headers };
}

/**
 * The msg fields a queued message restores: payload in its original type,
 * and messageType / controlId when they were queued. A body without a type
 * header (enqueued by something other than queue-out) stays bytes.
 * @param body - the queue message's body
 * @param headers - its headers
 * @param id - the message id, named in errors
 */
export function decodePayload(body: Buffer, headers: Readonly<Record<string, string>>, id: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  switch (headers[PAYLOAD_TYPE_HEADER]) {
    case 'string':
      out.payload = body.toString('utf8');
      break;
    case 'json':
      try {
        out.payload = JSON.parse(body.toString('utf8')) as unknown;
      } catch {
        // An edited replay with broken JSON: fails every time, so straight back to the dead letters.
        throw new IntegrationError(`queued message ${id} is marked JSON but its body does not parse`, 'PARSE', false);
      }
      break;
    default:
      out.payload = body;
  }
  if (headers[MESSAGE_TYPE_HEADER]) out.messageType = headers[MESSAGE_TYPE_HEADER];
  if (headers[CONTROL_ID_HEADER]) out.controlId = headers[CONTROL_ID_HEADER];
  return out;
}
