import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { correlateAcknowledgment, parseX12, summarizeX12 } from '../../adapters/x12';
import type { ClaimPaymentEvent, SubmissionManifest } from '../../adapters/x12';
import { failMsg, nodeError, safeError } from '../emr-out/outbound';
import type { Msg } from '../emr-out/outbound';
import { setStatus } from '../shared/status';

interface X12ParseDef extends NodeDef {
  /** `whole`: one msg per interchange; `payments`: one msg per 835 claim payment (for emr out). */
  output: 'whole' | 'payments';
}

/**
 * Reads an inbound interchange: an 835 remittance (with payment and
 * adjustment events for the EMR), a 999/TA1 acknowledgment (per claim, with
 * msg.manifest from x12-837p), or an 837P (read back and validated).
 */
export = function init(RED: NodeAPI): void {
  function X12Parse(this: Node, def: X12ParseDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    let parsed = 0;

    node.on('input', (input, send, done) => {
      const msg = input as Msg;
      const raw = msg.payload;
      if (!(typeof raw === 'string' && raw.length > 0) && !(Buffer.isBuffer(raw) && raw.length > 0)) {
        failMsg(msg, nodeError(RED._('x12-parse.errors.no-payload'), 'PARSE'), done);
        return;
      }
      try {
        const result = parseX12(raw);
        node.debug(`x12 parsed ${JSON.stringify(summarizeX12(result, Buffer.byteLength(raw)))}`);
        msg.x12 = result;
        msg.x12Kind = result.kind;
        msg.controlId = result.interchangeControlNumber;
        msg.messageType = result.kind;
        let count = 0;
        if (result.kind === '835') {
          const payments = result.events.filter((e): e is ClaimPaymentEvent => e.type === 'claim.payment');
          count = payments.length;
          if (def.output === 'payments') {
            const out: NodeMessage[] = payments.map((event, i) => ({ ...RED.util.cloneMessage(msg), payload: event, remittanceEvent: event, parts: { id: String(msg._msgid), index: i, count: payments.length } }));
            parsed += 1;
            setStatus(node, 'connected', RED._('x12-parse.status.parsed', { kind: result.kind, count }));
            send([out]);
            done();
            return;
          }
          msg.remittanceEvents = result.events;
        } else if (result.kind === 'ack') {
          const manifest = manifestOf(msg.manifest);
          if (manifest) {
            const acks = correlateAcknowledgment(result.acknowledgment, manifest);
            msg.claimAcks = acks;
            count = acks.length;
          } else {
            count = result.acknowledgment.groups.length + result.acknowledgment.interchanges.length;
          }
        } else {
          count = result.claims.length;
        }
        parsed += 1;
        setStatus(node, 'connected', RED._('x12-parse.status.parsed', { kind: result.kind, count }));
        send(msg);
        done();
      } catch (err) {
        const safe = safeError(err, 'X12 parse');
        setStatus(node, 'error', RED._('x12-parse.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      setStatus(node, 'idle');
      done();
    });
  }

  RED.nodes.registerType('x12-parse', X12Parse);
};

function manifestOf(value: unknown): SubmissionManifest | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const m = value as SubmissionManifest;
  return typeof m.interchangeControlNumber === 'string' && Array.isArray(m.transactions) ? m : undefined;
}
