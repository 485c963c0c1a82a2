import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import type { SendGridAccountNode } from '../sendgrid-account/sendgrid-account-node';
import { beginOutbound, failMsg, finishOutbound, nodeError, safeError } from '../emr-out/outbound';
import type { Msg, OutboundJob } from '../emr-out/outbound';
import { stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';

interface SendGridEmailDef extends NodeDef {
  account: string;
  templateId: string;
  categories: string;
}

/**
 * Sends one templated email through SendGrid. The hub message id is the
 * idempotency key (SendGrid has none; the sent registry is ours) and the
 * custom argument by which delivery events find the message again.
 */
export = function init(RED: NodeAPI): void {
  function SendGridEmail(this: Node, def: SendGridEmailDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const account = RED.nodes.getNode(def.account) as SendGridAccountNode | null;
    if (!account) {
      node.error(RED._('sendgrid-email.errors.no-account'));
      setStatus(node, 'error', RED._('sendgrid-email.status.not-configured'));
    } else {
      account.register(node);
      if (!account.sender) setStatus(node, 'error', RED._(account.senderProblem === 'invalid' ? 'sendgrid-email.status.config-error' : 'sendgrid-email.status.not-configured'));
    }
    const defaultCategories = (def.categories ?? '')
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c.length > 0);
    let sent = 0;

    const handle = async (msg: Msg, send: (msg: NodeMessage) => void, done: (err?: Error) => void): Promise<void> => {
      const sender = account?.sender;
      if (!account || !sender) {
        failMsg(msg, nodeError(RED._('sendgrid-email.errors.not-configured'), 'CONFIG'), done);
        return;
      }
      let job: OutboundJob | undefined;
      try {
        const to = stringProp(msg, 'to');
        const templateId = stringProp(msg, 'templateId') ?? (def.templateId || undefined);
        if (!to || !templateId) throw nodeError(RED._('sendgrid-email.errors.no-message'), 'PARSE');
        const data = msg.templateData ?? msg.payload;
        const templateData = data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
        const categories = [...defaultCategories, ...(Array.isArray(msg.categories) ? (msg.categories as unknown[]).filter((c): c is string => typeof c === 'string') : [])];
        job = await beginOutbound(node, msg, { endpoint: account.storeName, messageType: 'email', patientId: stringProp(msg, 'patientId') ?? null, body: () => JSON.stringify({ to, templateId, templateData }) });
        setStatus(node, 'processing', RED._('sendgrid-email.status.sending'));
        msg.email = await sender.send({ hubMessageId: job.key, to, templateId, templateData, categories });
        delete msg.retryable;
        await finishOutbound(node, job, 'sent');
        sent += 1;
        setStatus(node, 'connected', RED._('sendgrid-email.status.sent', { count: sent }));
        send(msg);
        done();
      } catch (err) {
        const safe = safeError(err, 'email send');
        if (job) await finishOutbound(node, job, 'error', safe);
        setStatus(node, 'error', RED._('sendgrid-email.status.error', { code: errorCode(safe) }));
        failMsg(msg, safe, done);
      }
    };

    node.on('input', (msg, send, done) => {
      handle(msg as Msg, send, done).catch((err: unknown) => done(safeError(err, 'email send')));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(account?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('sendgrid-email.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('sendgrid-email', SendGridEmail);
};
