import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MessageStoreDeliverySink } from '../../adapters/phi-guard';
import { SendGridEmailSender, SendGridEventHandler } from '../../adapters/sendgrid';
import { hubServicesOrNull } from '../emr-out/outbound';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { pemText } from '../mllp-endpoint/pem-text';
import { envSetting, secretSetting } from '../shared/env-setting';
import { manageProviderAccount, ProviderState } from '../shared/provider-state';
import type { SendGridAccountNode } from './sendgrid-account-node';
import { sendGridMail } from './sendgrid-client';

interface SendGridAccountDef extends NodeDef {
  fromEmail: string;
  fromName: string;
  replyTo: string;
  categories: string;
  asmGroupId: string | number;
  tracking: boolean;
  sandbox: boolean;
  tolerance: string | number;
  /** Environment variable (HUB_SENDGRID_…) holding the API key when the credential is empty. */
  apiKeyEnv?: string;
}

interface SendGridAccountCredentials {
  apiKey?: string;
  eventPublicKey?: string;
}

/**
 * Config node for a SendGrid account: the API key (credential), the sender
 * identity, default categories, and the signed event webhook's verification
 * key. Owns the email sender and the event handler, which share the hub's
 * sent registry and replay store; delivery events update the message store.
 */
export = function init(RED: NodeAPI): void {
  function SendGridAccount(this: Node, def: SendGridAccountDef): void {
    RED.nodes.createNode(this, def);
    const node = this as SendGridAccountNode;
    const credentials = (node.credentials ?? {}) as SendGridAccountCredentials;
    const logger = nodeLogger(node);
    const state = new ProviderState(RED);
    node.storeName = def.name || 'sendgrid';
    node.sender = undefined;
    node.senderProblem = 'not-configured';
    node.events = undefined;
    node.eventsProblem = 'not-configured';

    const invalid = (part: string, err: unknown): 'invalid' => {
      node.warn(RED._('sendgrid-account.errors.config', { part, reason: err instanceof Error ? err.message : String(err) }));
      return 'invalid';
    };

    const fromEmail = envSetting(def.fromEmail);
    let apiKey = '';
    try {
      apiKey = secretSetting(credentials.apiKey, def.apiKeyEnv, 'HUB_SENDGRID_');
    } catch (err) {
      node.senderProblem = invalid('sender', err);
    }
    if (apiKey && fromEmail) {
      try {
        const categories = (def.categories ?? '')
          .split(',')
          .map((c) => c.trim())
          .filter((c) => c.length > 0);
        const asm = Number(def.asmGroupId);
        node.sender = new SendGridEmailSender(
          {
            from: { email: fromEmail, ...(def.fromName?.trim() ? { name: def.fromName.trim() } : {}) },
            ...(def.replyTo?.trim() ? { replyTo: def.replyTo.trim() } : {}),
            categories,
            ...(Number.isInteger(asm) && asm > 0 ? { asmGroupId: asm } : {}),
            tracking: def.tracking === true,
            sandbox: def.sandbox === true,
          },
          { mail: sendGridMail({ apiKey }), sent: state.sentRegistry(), logger },
        );
        node.senderProblem = undefined;
      } catch (err) {
        node.senderProblem = invalid('sender', err);
      }
    }

    const publicKey = pemText(credentials.eventPublicKey);
    if (publicKey) {
      try {
        const store = hubServicesOrNull()?.store;
        if (!store) throw new Error("the hub's message store is needed (delivery events update it)");
        const replayStore = state.replayStore();
        const tolerance = Number(def.tolerance);
        node.events = new SendGridEventHandler(
          { publicKey, ...(tolerance > 0 ? { toleranceSec: tolerance } : {}) },
          { sent: state.sentRegistry(), replayStore, sink: new MessageStoreDeliverySink(store, { logger }), logger },
        );
        node.eventsProblem = undefined;
      } catch (err) {
        node.eventsProblem = invalid('event webhook', err);
      }
    }

    manageProviderAccount(RED, node, state, 'sendgrid-account.errors.close', ['sender', 'events']);
  }

  RED.nodes.registerType('sendgrid-account', SendGridAccount, {
    credentials: {
      apiKey: { type: 'password' },
      eventPublicKey: { type: 'password' },
    },
  });
};
