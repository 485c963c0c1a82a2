import type { Node, NodeAPI, NodeDef } from 'node-red';
import { StripePaymentGateway, StripeWebhookReceiver } from '../../adapters/stripe';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { secretSetting } from '../shared/env-setting';
import { manageProviderAccount, ProviderState } from '../shared/provider-state';
import type { StripeAccountNode } from './stripe-account-node';
import { stripeClient } from './stripe-client';

interface StripeAccountDef extends NodeDef {
  description: string;
  statementDescriptorSuffix: string;
  tolerance: string | number;
  /** Environment variables (HUB_STRIPE_…) holding the secret key and the webhook signing secret when the credentials are empty. */
  secretKeyEnv?: string;
  webhookSecretEnv?: string;
}

interface StripeAccountCredentials {
  secretKey?: string;
  webhookSecret?: string;
  webhookSecretNext?: string;
}

/**
 * Config node for a Stripe account: the secret key (stripe-payment) and the
 * webhook endpoint's signing secret (stripe-webhook), both credentials.
 * Processed webhook event ids are kept in the hub's provider-state file.
 */
export = function init(RED: NodeAPI): void {
  function StripeAccount(this: Node, def: StripeAccountDef): void {
    RED.nodes.createNode(this, def);
    const node = this as StripeAccountNode;
    const credentials = (node.credentials ?? {}) as StripeAccountCredentials;
    const logger = nodeLogger(node);
    const state = new ProviderState(RED);
    node.storeName = def.name || 'stripe';

    const invalid = (part: string, err: unknown): 'invalid' => {
      // Adapter config errors name the setting, never the key.
      node.warn(RED._('stripe-account.errors.config', { part, reason: err instanceof Error ? err.message : String(err) }));
      return 'invalid';
    };

    node.gateway = undefined;
    node.gatewayProblem = 'not-configured';
    try {
      const secretKey = secretSetting(credentials.secretKey, def.secretKeyEnv, 'HUB_STRIPE_');
      if (secretKey) {
        node.gateway = new StripePaymentGateway(
          { description: def.description?.trim() || undefined, statementDescriptorSuffix: def.statementDescriptorSuffix?.trim() || undefined },
          { stripe: stripeClient(secretKey), logger },
        );
        node.gatewayProblem = undefined;
      }
    } catch (err) {
      node.gatewayProblem = invalid('secret key', err);
    }

    node.webhook = undefined;
    node.webhookProblem = 'not-configured';
    let secrets: string[] = [];
    try {
      secrets = [secretSetting(credentials.webhookSecret, def.webhookSecretEnv, 'HUB_STRIPE_'), credentials.webhookSecretNext].filter((s): s is string => typeof s === 'string' && s.length > 0);
    } catch (err) {
      node.webhookProblem = invalid('webhook', err);
    }
    if (secrets.length > 0) {
      try {
        const tolerance = Number(def.tolerance);
        node.webhook = new StripeWebhookReceiver({ signingSecrets: secrets, ...(tolerance > 0 ? { toleranceSec: tolerance } : {}) }, { replayStore: state.replayStore(), logger });
        node.webhookProblem = undefined;
      } catch (err) {
        node.webhookProblem = invalid('webhook', err);
      }
    }

    manageProviderAccount(RED, node, state, 'stripe-account.errors.close', ['gateway', 'webhook']);
  }

  RED.nodes.registerType('stripe-account', StripeAccount, {
    credentials: {
      secretKey: { type: 'password' },
      webhookSecret: { type: 'password' },
      webhookSecretNext: { type: 'password' },
    },
  });
};
