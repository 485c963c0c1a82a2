import type { Node, NodeAPI, NodeDef } from 'node-red';
import { MessageStoreDeliverySink } from '../../adapters/phi-guard';
import { quietHoursDecision, TwilioCallbackHandler, TwilioSmsSender } from '../../adapters/twilio';
import { webhookPath } from '../emr-in/webhook-endpoint';
import { hubServicesOrNull } from '../emr-out/outbound';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { envSetting, secretSetting } from '../shared/env-setting';
import { manageProviderAccount, ProviderState } from '../shared/provider-state';
import type { TwilioAccountNode } from './twilio-account-node';
import { twilioClient } from './twilio-client';

interface TwilioAccountDef extends NodeDef {
  accountSid: string;
  messagingServiceSid: string;
  publicBaseUrl: string;
  statusPath: string;
  timeZone: string;
  quietHours: boolean;
  quietStart: string;
  quietEnd: string;
  /** Environment variable (HUB_TWILIO_…) holding the auth token when the credential is empty. */
  authTokenEnv?: string;
}

interface TwilioAccountCredentials {
  authToken?: string;
}

/**
 * Config node for a Twilio account: account SID, auth token (credential),
 * the messaging service SMS go out from, the public URL Twilio calls back
 * on, the clinic's time zone and quiet hours. It owns the SMS sender and
 * the callback handler, which share the hub's sent registry, opt-out
 * registry and replay store (`providers/providers.db`); delivery reports
 * update the message store.
 */
export = function init(RED: NodeAPI): void {
  function TwilioAccount(this: Node, def: TwilioAccountDef): void {
    RED.nodes.createNode(this, def);
    const node = this as TwilioAccountNode;
    const credentials = (node.credentials ?? {}) as TwilioAccountCredentials;
    const logger = nodeLogger(node);
    const state = new ProviderState(RED);
    node.storeName = def.name || 'twilio';
    node.publicBaseUrl = envSetting(def.publicBaseUrl).replace(/\/+$/, '');
    node.sender = undefined;
    node.senderProblem = 'not-configured';
    node.callbacks = undefined;
    node.callbacksProblem = 'not-configured';

    const accountSid = envSetting(def.accountSid);
    try {
      const authToken = secretSetting(credentials.authToken, def.authTokenEnv, 'HUB_TWILIO_');
      node.statusPath = webhookPath(def.statusPath || '/twilio/status');
      const store = hubServicesOrNull()?.store;
      if (accountSid && authToken) {
        if (!store) throw new Error("the hub's message store is needed (opt-outs are keyed by its secret, delivery reports update it)");
        // Phone numbers are stored as a keyed hash; the key is derived from the hub's patient-key secret (domain separated).
        const optOutSecret = Buffer.from(store.patientKey('sms-opt-out-registry'), 'utf8');
        const sent = state.sentRegistry();
        const optOuts = state.optOuts(optOutSecret);
        const replayStore = state.replayStore();
        node.callbacks = new TwilioCallbackHandler(
          { authToken, accountSid },
          { sent, optOuts, replayStore, sink: new MessageStoreDeliverySink(store, { logger }), logger },
        );
        node.callbacksProblem = node.publicBaseUrl ? undefined : 'not-configured';
        const service = envSetting(def.messagingServiceSid);
        if (service && node.publicBaseUrl) {
          const timeZone = envSetting(def.timeZone) || 'America/New_York';
          const quietHours = def.quietHours === false ? null : { start: def.quietStart || '21:00', end: def.quietEnd || '08:00' };
          // The sender reads the window only when it sends; a typo should show now, not at the first reminder.
          if (quietHours) quietHoursDecision(new Date(), timeZone, quietHours);
          node.sender = new TwilioSmsSender(
            {
              messagingServiceSid: service,
              statusCallbackUrl: `${node.publicBaseUrl}${node.statusPath}`,
              timeZone,
              quietHours,
            },
            { client: twilioClient({ accountSid, authToken }), sent, optOuts, logger },
          );
          node.senderProblem = undefined;
        }
      }
    } catch (err) {
      node.statusPath ??= '/twilio/status';
      node.sender = undefined;
      node.callbacks = undefined;
      node.senderProblem = 'invalid';
      node.callbacksProblem = 'invalid';
      // Adapter config errors name the setting (SID shape, time zone), never the token.
      node.warn(RED._('twilio-account.errors.config', { reason: err instanceof Error ? err.message : String(err) }));
    }

    manageProviderAccount(RED, node, state, 'twilio-account.errors.close', ['sender', 'callbacks']);
  }

  RED.nodes.registerType('twilio-account', TwilioAccount, {
    credentials: {
      authToken: { type: 'password' },
    },
  });
};
