import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { readInterchange, submissionFileName } from '../../adapters/x12';
import type { X12DeliveryReceipt } from '../../adapters/x12';
import type { ClearinghouseNode } from '../clearinghouse/clearinghouse-node';
import { beginOutbound, failMsg, finishOutbound, nodeError, safeError } from '../emr-out/outbound';
import type { Msg, OutboundJob } from '../emr-out/outbound';
import { setStatus } from '../shared/status';
import { X12_CONTENT_TYPE } from '../x12-837p/x12-837p-constants';

interface X12DeliverDef extends NodeDef {
  clearinghouse: string;
}

/**
 * Delivers an interchange (msg.payload) to the configured clearinghouse
 * over SFTP or HTTPS. The file name, unique per ISA13, is the delivery's
 * idempotency key (SFTP: a retry finds the file in place; HTTPS:
 * Idempotency-Key). The stored 837P record (msg.hubMessageId from x12-837p)
 * follows the outcome.
 */
export = function init(RED: NodeAPI): void {
  function X12Deliver(this: Node, def: X12DeliverDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const clearinghouse = RED.nodes.getNode(def.clearinghouse) as ClearinghouseNode | null;
    if (!clearinghouse) {
      node.error(RED._('x12-deliver.errors.no-clearinghouse'));
      setStatus(node, 'error', RED._('x12-deliver.status.not-configured'));
    } else {
      clearinghouse.register(node);
      if (!clearinghouse.delivery) setStatus(node, 'error', RED._(clearinghouse.problem === 'invalid' ? 'x12-deliver.status.config-error' : 'x12-deliver.status.not-configured'));
    }
    let delivered = 0;

    const handle = async (msg: Msg, send: (msg: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      const delivery = clearinghouse?.delivery;
      if (!clearinghouse || !delivery) {
        failMsg(msg, nodeError(RED._('x12-deliver.errors.not-configured'), 'CONFIG'), done);
        return;
      }
      let job: OutboundJob | undefined;
      try {
        const x12 = Buffer.isBuffer(msg.payload) ? msg.payload.toString('utf8') : msg.payload;
        if (typeof x12 !== 'string' || x12.trim() === '') throw nodeError(RED._('x12-deliver.errors.no-payload'), 'PARSE');
        const doc = readInterchange(x12);
        const fileName = typeof msg.fileName === 'string' && msg.fileName ? msg.fileName : submissionFileName(doc);
        job = await beginOutbound(node, msg, { endpoint: clearinghouse.storeName, messageType: '837P', controlId: doc.interchangeControlNumber, contentType: X12_CONTENT_TYPE, body: () => x12 });
        setStatus(node, 'processing', RED._('x12-deliver.status.sending'));
        const receipt: X12DeliveryReceipt = await delivery.deliver(fileName, x12);
        const { responseBody, ...rest } = receipt;
        msg.delivery = { ...rest, fileName };
        if (responseBody) msg.x12Response = responseBody;
        delete msg.retryable;
        await finishOutbound(node, job, 'sent');
        delivered += 1;
        setStatus(node, 'connected', RED._('x12-deliver.status.delivered', { count: delivered }));
        send(msg);
        done();
      } catch (err) {
        const safe = safeError(err, 'X12 delivery');
        if (job) await finishOutbound(node, job, 'error', safe);
        setStatus(node, 'error', RED._('x12-deliver.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    };

    node.on('input', (msg, send, done) => {
      handle(msg as Msg, send, done).catch((err: unknown) => done(safeError(err, 'X12 delivery')));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(clearinghouse?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('x12-deliver.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('x12-deliver', X12Deliver);
};
