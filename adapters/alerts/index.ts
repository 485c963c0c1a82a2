export { AlertService, ALERT_FIRED, ALERT_RECOVERED } from './alert-service';
export type { AlertListener, AlertServiceOptions, AlertSubscriptions } from './alert-service';
export { AlertEvaluator, STANDBY } from './evaluator';
export type { AlertEvaluatorDeps, AlertEvaluatorOptions } from './evaluator';
export { AlertRuleError, parseAlertRules } from './rules';
export { ALERT_ID_HEADER, AlertDeliveryError, SIGNATURE_HEADER, signAlertBody, WebhookNotifier } from './webhook-notifier';
export type { AlertNotifier, WebhookNotifierOptions } from './webhook-notifier';
export { ALERT_RULE_TYPES, DOWN_STATES } from './types';
export type { AlertEvent, AlertEventKind, AlertHistoryEntry, AlertRule, AlertRuleState, AlertRuleStatus, AlertRuleType, AlertSources, AlertsView } from './types';
