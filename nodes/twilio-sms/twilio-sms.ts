import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import type { SmsSendResult } from '../../adapters/twilio';
import { beginOutbound, failMsg, finishOutbound, nodeError, safeError } from '../emr-out/outbound';
import type { Msg, OutboundJob } from '../emr-out/outbound';
import { stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';
import type { TwilioAccountNode } from '../twilio-account/twilio-account-node';

interface TwilioSmsDef extends NodeDef {
  account: string;
  timeCritical: boolean;
}

/**
 * Sends one SMS (msg.payload) to msg.to from the account's messaging
 * service, with a status callback per message. The hub message id is the
 * idempotency key (Twilio has none; the sent registry is ours): a retry of
 * a message Twilio accepted is reported as a duplicate, not sent again.
 * Opted-out recipients are refused; outside time-critical messages, quiet
 * hours defer the message to the second output.
 */
export = function init(RED: NodeAPI): void {
  function TwilioSms(this: Node, def: TwilioSmsDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as TwilioAccountNode | null;
    if (!account) {
      node.error(RED._('twilio-sms.errors.no-account'));
      setStatus(node, 'error', RED._('twilio-sms.status.not-configured'));
    } else {
      account.register(node);
      if (!account.sender) setStatus(node, 'error', RED._(account.senderProblem === 'invalid' ? 'twilio-sms.status.config-error' : 'twilio-sms.status.not-configured'));
    }
    let sent = 0;

    const handle = async (msg: Msg, send: (msg: (NodeMessage | null)[]) => void, done: (err?: Error) => void): Promise<void> => {
      const sender = account?.sender;
      if (!account || !sender) {
        failMsg(msg, nodeError(RED._('twilio-sms.errors.not-configured'), 'CONFIG'), done);
        return;
      }
      let job: OutboundJob | undefined;
      try {
        const to = stringProp(msg, 'to');
        const body = typeof msg.payload === 'string' ? msg.payload : undefined;
        if (!to || !body) throw nodeError(RED._('twilio-sms.errors.no-message'), 'PARSE');
        const timeCritical = typeof msg.timeCritical === 'boolean' ? msg.timeCritical : def.timeCritical === true;
        job = await beginOutbound(node, msg, { endpoint: account.storeName, messageType: 'SMS', patientId: stringProp(msg, 'patientId') ?? null, contentType: 'text/plain', body: () => body });
        setStatus(node, 'processing', RED._('twilio-sms.status.sending'));
        const result: SmsSendResult = await sender.send({ hubMessageId: job.key, to, body, timeCritical, ...(stringProp(msg, 'timeZone') ? { timeZone: stringProp(msg, 'timeZone') } : {}) });
        msg.sms = result;
        delete msg.retryable;
        if (result.outcome === 'deferred') {
          await finishOutbound(node, job, 'queued');
          setStatus(node, 'connecting', RED._('twilio-sms.status.deferred'));
          send([null, msg]);
        } else {
          await finishOutbound(node, job, 'sent');
          sent += 1;
          setStatus(node, 'connected', RED._('twilio-sms.status.sent', { count: sent }));
          send([msg, null]);
        }
        done();
      } catch (err) {
        const safe = safeError(err, 'SMS send');
        if (job) await finishOutbound(node, job, 'error', safe);
        setStatus(node, 'error', RED._('twilio-sms.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    };

    node.on('input', (msg, send, done) => {
      handle(msg as Msg, send as (msg: (NodeMessage | null)[]) => void, done).catch((err: unknown) => done(safeError(err, 'SMS send')));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('twilio-sms.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('twilio-sms', TwilioSms);
};
