import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import type { AlertEvent, AlertEventKind } from '../../adapters/alerts/types';
import { getHubServices } from '../../adapters/shared/registry';
import { setStatus } from '../shared/status';

interface HubAlertDef extends NodeDef {
  fired: boolean;
  reminder: boolean;
  recovered: boolean;
  /** Comma-separated rule names; empty for every rule. */
  rules: string;
}

/**
 * Emits each alert event of the hub's rules (HUB_ALERT_RULES) as a msg, so
 * the flow can notify people through sendgrid-email or twilio-sms:
 * `msg.payload` is the one-line text, `msg.alert` the event, `msg.templateData`
 * the fields an email template needs. Alert events hold rule, endpoint and
 * queue names and numbers, never message content.
 */
export = function init(RED: NodeAPI): void {
  function HubAlert(this: Node, def: HubAlertDef): void {
    RED.nodes.createNode(this, def);
    const kinds = new Set<AlertEventKind>((['fired', 'reminder', 'recovered'] as const).filter((k) => def[k] !== false));
    const rules = new Set(
      String(def.rules ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    );

    const alerts = servicesAlerts();
    if (!alerts) {
      setStatus(this, 'error', RED._('hub-alert.status.no-service'));
      this.error(RED._('hub-alert.errors.no-service'));
      return;
    }
    setStatus(this, 'connected', RED._('hub-alert.status.waiting'));

    const unsubscribe = alerts.subscribe((event: AlertEvent) => {
      if (!kinds.has(event.kind) || (rules.size > 0 && !rules.has(event.rule))) return;
      setStatus(this, event.kind === 'recovered' ? 'connected' : 'error', RED._(`hub-alert.status.${event.kind}`, { rule: event.rule }));
      const msg: NodeMessage & Record<string, unknown> = {
        topic: `alert.${event.kind}`,
        payload: event.text,
        alert: event,
        templateData: { rule: event.rule, kind: event.kind, text: event.text, condition: event.condition, value: event.value, threshold: event.threshold, at: event.at, since: event.since },
      };
      this.send(msg);
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      unsubscribe();
      setStatus(this, 'idle');
      done();
    });
  }

  function servicesAlerts() {
    try {
      return getHubServices().alerts ?? null;
    } catch {
      return null;
    }
  }

  RED.nodes.registerType('hub-alert', HubAlert);
};
