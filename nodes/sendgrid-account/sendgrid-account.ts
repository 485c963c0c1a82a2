import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MessageStoreDeliverySink } from '../../adapters/phi-guard';
import type { SentRegistry } from '../../adapters/phi-guard';
import { SendGridEmailSender, SendGridEventHandler } from '../../adapters/sendgrid';
import { errorCode } from '../../adapters/shared/errors';
import { hubServicesOrNull } from '../emr-out/outbound';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { pemText } from '../mllp-endpoint/pem-text';
import { envSetting, secretSetting } from '../shared/env-setting';
import { sharedReplayStore, sharedSentRegistry } from '../stripe-account/provider-state';
import type { SharedHandle } from '../x12-837p/hub-data';
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
    const users = new Set<Node>();
    const held: SharedHandle<unknown>[] = [];
    node.storeName = def.name || 'sendgrid';
    node.sender = undefined;
    node.senderProblem = 'not-configured';
    node.events = undefined;
    node.eventsProblem = 'not-configured';

    const invalid = (part: string, err: unknown): 'invalid' => {
      node.warn(RED._('sendgrid-account.errors.config', { part, reason: err instanceof Error ? err.message : String(err) }));
      return 'invalid';
    };
    let sent: SharedHandle<SentRegistry> | undefined;
    const sentRegistry = (): SharedHandle<SentRegistry> => {
      if (!sent) {
        sent = sharedSentRegistry(RED);
        held.push(sent);
      }
      return sent;
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
          { mail: sendGridMail({ apiKey }), sent: sentRegistry().value, logger },
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
        const replays = sharedReplayStore(RED);
        held.push(replays);
        const tolerance = Number(def.tolerance);
        node.events = new SendGridEventHandler(
          { publicKey, ...(tolerance > 0 ? { toleranceSec: tolerance } : {}) },
          { sent: sentRegistry().value, replayStore: replays.value, sink: new MessageStoreDeliverySink(store, { logger }), logger },
        );
        node.eventsProblem = undefined;
      } catch (err) {
        node.eventsProblem = invalid('event webhook', err);
      }
    }

    node.register = (user: Node): void => {
      users.add(user);
    };
    node.deregister = async (user: Node): Promise<void> => {
      users.delete(user);
    };

    node.on('close', (_removed: boolean, done: () => void) => {
      const sender = node.sender;
      node.sender = undefined;
      node.events = undefined;
      Promise.all([sender?.close(), ...held.map((h) => h.release())])
        .catch((err: unknown) => node.warn(RED._('sendgrid-account.errors.close', { code: errorCode(err) })))
        .finally(done);
    });
  }

  RED.nodes.registerType('sendgrid-account', SendGridAccount, {
    credentials: {
      apiKey: { type: 'password' },
      eventPublicKey: { type: 'password' },
    },
  });
};
