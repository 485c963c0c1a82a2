import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { Hl7NackError, OutboundJournal, isHl7Message, type Hl7SendResult, type PreparedHl7Message } from '../../adapters/hl7-send';
import type { Hl7Message } from '../../adapters/hl7';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import type { MllpEndpointNode } from '../mllp-endpoint/mllp-endpoint-node';
import { stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';

interface MllpOutDef extends NodeDef {
  endpoint: string;
  /** Per-node ACK timeout in ms; blank uses the endpoint's. */
  timeout: string | number;
  ordering: 'none' | 'patient' | 'msg';
  orderingProperty: string;
  record: boolean;
}

type Msg = NodeMessage & Record<string, unknown>;

/**
 * Sends msg.payload (HL7 text or bytes), or msg.hl7 when there is no
 * payload, to the configured MLLP endpoint and waits for its ACK. The
 * message is recorded in the store before it leaves and updated with the
 * outcome; the ACK is stored as a related record. On failure the typed error
 * goes to done(err), and msg.retryable tells a Catch flow whether to retry
 * (Node-RED copies only message, code and stack of the error into msg.error).
 */
export = function init(RED: NodeAPI): void {
  function MllpOut(this: Node, def: MllpOutDef): void {
    RED.nodes.createNode(this, def);
    const endpoint = RED.nodes.getNode(def.endpoint) as MllpEndpointNode | null;
    if (!endpoint) {
      this.error(RED._('mllp-out.errors.no-endpoint'));
      setStatus(this, 'error', RED._('mllp-out.status.no-endpoint'));
      return;
    }
    endpoint.register(this);
    const timeoutMs = Number(def.timeout) > 0 ? Number(def.timeout) : undefined;
    let acked = 0;

    const orderingKey = (msg: Msg, prepared: PreparedHl7Message): string | undefined => {
      if (def.ordering === 'patient') return prepared.patientId;
      if (def.ordering === 'msg' && def.orderingProperty) {
        const value = RED.util.getMessageProperty(msg, def.orderingProperty) as unknown;
        return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
      }
      return undefined;
    };

    const journal = (): OutboundJournal | undefined => {
      if (def.record === false) return undefined;
      let store;
      try {
        store = getHubServices().store;
      } catch {
        // Outside the hub (a bare Node-RED) there is no store to record in.
        return undefined;
      }
      return new OutboundJournal(store, { endpoint: endpoint.storeName, flowId: this.z ?? null, nodeId: this.id });
    };

    const handle = async (msg: Msg, send: (msg: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      const fail = (err: unknown): void => {
        const typed = err instanceof IntegrationError ? err : undefined;
        msg.retryable = typed?.retryable ?? false;
        setStatus(this, 'error', RED._('mllp-out.status.error', { code: err instanceof Hl7NackError ? `NACK ${err.ackCode}` : errorCode(err) }));
        done(err instanceof Error ? err : new Error(String(err)));
      };

      const sender = endpoint.sender;
      if (!sender) {
        fail(new IntegrationError(RED._('mllp-out.errors.endpoint-invalid'), 'CONFIG', false));
        return;
      }
      const outbound = outboundOf(msg);
      if (outbound === undefined) {
        fail(new IntegrationError(RED._('mllp-out.errors.no-payload'), 'PARSE', false));
        return;
      }

      let prepared: PreparedHl7Message;
      let recorder: OutboundJournal | undefined;
      let recordId: string | undefined;
      try {
        prepared = sender.prepare(outbound);
        recorder = journal();
        if (recorder) {
          recordId = await recorder.begin(prepared, { relatedId: stringProp(msg, 'hubMessageId') ?? null, patientId: stringProp(msg, 'patientId') ?? null });
          msg.hubMessageId = recordId;
        }
      } catch (err) {
        fail(err);
        return;
      }

      setStatus(this, 'processing', RED._('mllp-out.status.sending'));
      let result: Hl7SendResult;
      try {
        result = await sender.send(prepared, { key: orderingKey(msg, prepared), ...(timeoutMs ? { timeoutMs } : {}) });
      } catch (err) {
        if (err instanceof Hl7NackError) {
          msg.hl7Ack = { code: err.ackCode, controlId: err.controlId, ackControlId: err.ackControlId, errors: err.errors };
          msg.ackRaw = err.responseText;
        }
        if (recorder && recordId) await recorder.failed(recordId, err).catch((e: unknown) => this.warn(RED._('mllp-out.errors.record', { code: errorCode(e) })));
        fail(err);
        return;
      }

      msg.hl7Ack = { code: result.ackCode, controlId: result.controlId, ackControlId: result.ackControlId, errors: result.errors };
      msg.ackRaw = result.responseText;
      delete msg.retryable;
      if (recorder && recordId) {
        // The receiver has the message: a store hiccup now must not turn
        // into a failure that a queue would answer with a duplicate.
        await recorder.succeeded(recordId, result).catch((e: unknown) => this.warn(RED._('mllp-out.errors.record', { code: errorCode(e) })));
      }
      acked += 1;
      setStatus(this, 'connected', RED._('mllp-out.status.acked', { count: acked }));
      send(msg);
      done();
    };

    this.on('input', (msg, send, done) => {
      // handle() settles every path with done(); the catch is a last guard
      // so no rejection can escape into the runtime.
      handle(msg as Msg, send, done).catch((err: unknown) => done(err instanceof Error ? err : new Error(String(err))));
    });

    this.on('close', (removed: boolean, done: () => void) => {
      endpoint
        .deregister(this, removed)
        .catch((err: unknown) => this.warn(RED._('mllp-out.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(this, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('mllp-out', MllpOut);
};

/** msg.payload when it is HL7 text, bytes or a parsed message, else msg.hl7. */
function outboundOf(msg: Msg): string | Buffer | Hl7Message | undefined {
  const payload = msg.payload;
  if ((typeof payload === 'string' && payload.length > 0) || (Buffer.isBuffer(payload) && payload.length > 0)) return payload;
  if (isHl7Message(payload)) return payload;
  if (msg.hl7 !== null && typeof msg.hl7 === 'object') return msg.hl7 as Hl7Message;
  return undefined;
}
