import { decodeHl7Buffer, messageInfo, parse } from '../hl7';
import { IntegrationError, errorCode } from '../shared/errors';
import type { MessageStatus, MessageStore } from '../store/types';
import { responseOf } from './errors';
import { hl7Parties } from './header-parties';
import type { Hl7SendResult } from './hl7-sender';
import type { PreparedHl7Message } from './prepare';

export const HL7_CONTENT_TYPE = 'application/hl7-v2';

export interface OutboundJournalOptions {
  /** Logical endpoint name for the store, e.g. `emr-mllp`. */
  endpoint: string;
  flowId: string | null;
  /** The sending node; a retry is recognised by it (see {@link OutboundJournal.begin}). */
  nodeId: string;
}

/**
 * Records outbound HL7 messages and their acknowledgments in the message
 * store: the message is inserted as `processing` before it leaves, then set
 * to `sent` or `error` with its attempt counted; whatever the receiver
 * answered is stored as a related inbound record (parentId = the message).
 *
 * The ACK record takes the outcome's status (`sent` when accepted, `error`
 * otherwise) rather than `received`: it needs no further processing, and
 * retention only prunes terminal statuses, so a `received` ACK would be kept
 * forever while the message it answers is pruned.
 */
export class OutboundJournal {
  /**
   * @param store - the hub's message store
   * @param options - endpoint name and the sending node's identity
   */
  constructor(
    private readonly store: MessageStore,
    private readonly options: OutboundJournalOptions,
  ) {}

  /**
   * Record a message about to be sent; resolves once durable.
   *
   * When `relatedId` is this node's own earlier record of the same control
   * ID, the message is a retry (a queue redelivering the msg): that record is
   * moved back to `processing` instead of a second one being inserted.
   * Otherwise `relatedId` (typically the inbound message that caused this
   * one) becomes the new record's parent.
   *
   * @param prepared - the message as it will go on the wire
   * @param meta - related record id; patient ID fallback when the message has no PID-3
   * @returns the id of the outbound record
   */
  async begin(prepared: PreparedHl7Message, meta: { relatedId?: string | null; patientId?: string | null } = {}): Promise<string> {
    const relatedId = meta.relatedId ?? null;
    if (relatedId) {
      const earlier = await this.store.get(relatedId);
      if (earlier && earlier.direction === 'outbound' && earlier.nodeId === this.options.nodeId && earlier.controlId === prepared.controlId) {
        await this.store.update(earlier.id, { status: 'processing', errorCode: null, errorText: null });
        return earlier.id;
      }
    }
    const record = await this.store.insert({
      flowId: this.options.flowId,
      nodeId: this.options.nodeId,
      direction: 'outbound',
      endpoint: this.options.endpoint,
      controlId: prepared.controlId,
      messageType: prepared.messageType || null,
      sender: prepared.sender || null,
      receiver: prepared.receiver || null,
      patientId: prepared.patientId ?? meta.patientId ?? null,
      status: 'processing',
      contentType: HL7_CONTENT_TYPE,
      parentId: relatedId,
      body: prepared.bytes,
    });
    return record.id;
  }

  /**
   * Mark the message sent and store its ACK; resolves once both are durable.
   *
   * @param id - the outbound record from {@link begin}
   * @param result - what the sender resolved with
   * @returns the id of the ACK record
   */
  async succeeded(id: string, result: Hl7SendResult): Promise<string> {
    const info = messageInfo(result.ack);
    const parties = hl7Parties(result.ack);
    const [, ack] = await Promise.all([
      this.store.update(id, { status: 'sent', errorCode: null, errorText: null, incrementAttempts: true }),
      this.store.insert({
        flowId: this.options.flowId,
        nodeId: this.options.nodeId,
        direction: 'inbound',
        endpoint: this.options.endpoint,
        controlId: info.controlId || null,
        messageType: info.messageType || null,
        sender: parties.sender || null,
        receiver: parties.receiver || null,
        status: 'sent',
        contentType: HL7_CONTENT_TYPE,
        parentId: id,
        body: result.response,
      }),
    ]);
    return ack.id;
  }

  /**
   * Mark the message failed (code and PHI-free message of the error) and
   * store the receiver's response if there was one.
   *
   * @param id - the outbound record from {@link begin}
   * @param err - what the sender rejected with
   * @returns the id of the response record, when a response was stored
   */
  async failed(id: string, err: unknown): Promise<string | undefined> {
    const code = errorCode(err);
    // Only our own errors have messages known to name identifiers only.
    const text = err instanceof IntegrationError ? err.message : err instanceof Error ? err.name : 'error';
    const response = responseOf(err);
    const update = this.store.update(id, { status: 'error', errorCode: code, errorText: text, incrementAttempts: true });
    if (!response) {
      await update;
      return undefined;
    }
    const header = readHeader(response);
    const status: MessageStatus = 'error';
    const [, ack] = await Promise.all([
      update,
      this.store.insert({
        flowId: this.options.flowId,
        nodeId: this.options.nodeId,
        direction: 'inbound',
        endpoint: this.options.endpoint,
        controlId: header.controlId,
        messageType: header.messageType,
        sender: header.sender,
        receiver: header.receiver,
        status,
        contentType: HL7_CONTENT_TYPE,
        parentId: id,
        errorCode: code,
        errorText: text,
        body: response,
      }),
    ]);
    return ack.id;
  }
}

/** Header identifiers of a response that may not even parse. */
function readHeader(response: Buffer): { controlId: string | null; messageType: string | null; sender: string | null; receiver: string | null } {
  try {
    const ack = parse(decodeHl7Buffer(response), { allowUnterminated: true });
    const info = messageInfo(ack);
    const parties = hl7Parties(ack);
    return {
      controlId: info.controlId || null,
      messageType: info.messageType || null,
      sender: parties.sender || null,
      receiver: parties.receiver || null,
    };
  } catch {
    return { controlId: null, messageType: null, sender: null, receiver: null };
  }
}
