import { createHash } from 'node:crypto';
import type { Node, NodeMessage } from 'node-red';
import { IntegrationError } from '../../adapters/shared/errors';
import type { ErrorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import type { HubServices } from '../../adapters/shared/registry';
import type { MessageStatus, MessageStore } from '../../adapters/store';

/**
 * What every outbound provider node (emr-out, x12-deliver, stripe-payment,
 * twilio-sms, sendgrid-email) does around its adapter call, so that a
 * queue-in upstream can retry any of them safely:
 *
 * - the idempotency key is `msg.hubMessageId`; without one, it is an id
 *   derived from the node and `msg._msgid` (which a Catch node or a queue
 *   redelivery keeps), and the message is recorded in the store under that
 *   id before it leaves, so the key is traceable;
 * - the outcome is written to that record (or to the upstream outbound
 *   record `msg.hubMessageId` names, e.g. from store-record);
 * - failures reach Catch nodes through `done(err)` with `msg.error.code`,
 *   `msg.retryable` from the typed error, and a message that names
 *   identifiers only (the SDK error with its possibly PHI-quoting text is
 *   not passed on as `cause`).
 *
 * Candidate for nodes/shared/ once the billing and messaging nodes land.
 */

export type Msg = NodeMessage & Record<string, unknown>;

/** Ids every provider adapter accepts as idempotency key (Stripe, Twilio, SendGrid: `^[A-Za-z0-9][\w.:-]{0,127}$`). */
const KEY_PATTERN = /^[A-Za-z0-9][\w.:-]{0,127}$/;

export interface OutboundRecordSpec {
  /** Logical endpoint for the store, e.g. the config node's name. */
  endpoint: string;
  messageType: string;
  controlId?: string | null;
  patientId?: string | null;
  contentType?: string;
  /** The outbound content; only built when a record is inserted. */
  body: () => Buffer | string;
}

export interface OutboundJob {
  /** The idempotency key handed to the adapter. */
  key: string;
  /** The store record whose status follows this call, when there is one. */
  recordId: string | null;
  store: MessageStore | null;
}

export function hubServicesOrNull(): HubServices | null {
  try {
    return getHubServices();
  } catch {
    // Outside the hub (a bare Node-RED) there is no store.
    return null;
  }
}

/**
 * A stable UUID (RFC 9562 version 8, name-based on SHA-256) for a node and
 * a message: the same node seeing the same message again (a retry) gets the
 * same id, so the store record and the provider's idempotency key match.
 * @param nodeId - the node
 * @param name - `msg._msgid` or another per-message name
 */
export function derivedMessageId(nodeId: string, name: string): string {
  const b = createHash('sha256').update(`ivf-hub\u0000${nodeId}\u0000${name}`).digest().subarray(0, 16);
  b[6] = 0x80 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `msg.hubMessageId` when it is usable as a key. */
export function hubMessageIdOf(msg: Msg): string | undefined {
  const v = msg.hubMessageId;
  return typeof v === 'string' && KEY_PATTERN.test(v) ? v : undefined;
}

/**
 * Resolve the idempotency key and the record that tracks this call; records
 * the message first when it has no hub message id yet. Resolves once the
 * record is durable.
 * @param node - the sending node
 * @param msg - the input msg; `msg.hubMessageId` is set when a record was made
 * @param spec - what to record when a record is needed
 */
export async function beginOutbound(node: Node, msg: Msg, spec: OutboundRecordSpec): Promise<OutboundJob> {
  const store = hubServicesOrNull()?.store ?? null;
  const given = hubMessageIdOf(msg);
  if (given) {
    if (!store) return { key: given, recordId: null, store };
    const record = await store.get(given);
    // An outbound record made upstream (store-record) or by this node on an earlier attempt follows the call;
    // an inbound record (the event that caused this call) is left to the flow.
    if (record && record.direction === 'outbound') {
      await store.update(given, { status: 'processing', errorCode: null, errorText: null });
      return { key: given, recordId: given, store };
    }
    return { key: given, recordId: null, store };
  }
  const key = derivedMessageId(node.id, typeof msg._msgid === 'string' && msg._msgid ? msg._msgid : String(Date.now()));
  if (!store) return { key, recordId: null, store };
  const existing = await store.get(key);
  if (existing) {
    await store.update(key, { status: 'processing', errorCode: null, errorText: null });
  } else {
    await store.insert({
      id: key,
      flowId: node.z ?? null,
      nodeId: node.id,
      direction: 'outbound',
      endpoint: spec.endpoint,
      controlId: spec.controlId ?? null,
      messageType: spec.messageType,
      patientId: spec.patientId ?? null,
      status: 'processing',
      contentType: spec.contentType ?? 'application/json',
      body: spec.body(),
    });
  }
  msg.hubMessageId = key;
  return { key, recordId: key, store };
}

/**
 * Record the outcome on the tracking record. A store hiccup after the
 * provider accepted must not turn into a failure a queue would answer with
 * a duplicate, so errors here are only warned about.
 * @param node - for the warning
 * @param job - from beginOutbound
 * @param status - `sent`, `queued` (deferred) or `error`
 * @param err - the failure, for `error`
 */
export async function finishOutbound(node: Node, job: OutboundJob, status: MessageStatus, err?: IntegrationError): Promise<void> {
  if (!job.store || !job.recordId) return;
  try {
    await job.store.update(job.recordId, {
      status,
      errorCode: err ? err.code : null,
      errorText: err ? err.message : null,
      incrementAttempts: status !== 'queued',
    });
  } catch (e) {
    node.warn(`could not record the outcome in the message store: ${codeOf(e)}`);
  }
}

/**
 * The error as Catch nodes should see it: class name, code, retryable and a
 * message naming identifiers only. Adapter errors already carry such
 * messages; anything else is replaced by its class name, since its text may
 * quote input.
 * @param err - what the adapter threw
 * @param what - what was being done, for unknown errors (`Stripe payment`)
 */
export function safeError(err: unknown, what: string): IntegrationError {
  if (err instanceof IntegrationError) {
    const copy = new IntegrationError(err.message, err.code, err.retryable);
    copy.name = err.name;
    return copy;
  }
  const name = err instanceof Error ? err.name : typeof err;
  return new IntegrationError(`${what} failed: unexpected ${name}`, 'PROVIDER', false);
}

/** A typed failure that needs no adapter: bad input, missing configuration. */
export function nodeError(message: string, code: ErrorCode, retryable = false): IntegrationError {
  return new IntegrationError(message, code, retryable);
}

/**
 * Hand a failure to Catch nodes: msg.retryable from the typed error, the
 * code on msg.error.code (Node-RED copies the error's own `code`).
 * @param msg - the input msg
 * @param err - the safe error (see safeError)
 * @param done - the input handler's done
 */
export function failMsg(msg: Msg, err: IntegrationError, done: (err?: Error) => void): void {
  msg.retryable = err.retryable;
  done(err);
}

function codeOf(err: unknown): string {
  return err instanceof IntegrationError ? err.code : err instanceof Error ? err.name : 'UNKNOWN';
}
