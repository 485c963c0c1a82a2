/**
 * What stands between the hub and the patient-facing providers (Stripe,
 * Twilio, SendGrid), shared by their adapters:
 *
 * - the PHI policy every outbound request passes before it reaches an SDK;
 * - the sent registry, our idempotency for providers without an idempotency key;
 * - the replay store and typed rejections for inbound webhooks;
 * - delivery reports and the delivery check for time-critical messages.
 *
 * Plain TypeScript; never imports node-red.
 */
export { PhiPolicy, normalizeField } from './phi-policy';
export type { PhiCheckOptions, PhiPolicyOptions, ProviderName } from './phi-policy';
export { DEFAULT_FORBIDDEN_FIELDS, DEFAULT_FORBIDDEN_TERMS, DEFAULT_PHI_PATTERNS } from './phi-defaults';
export type { PhiPattern } from './phi-defaults';
export {
  DeliveryFailedError,
  DeliveryPendingError,
  PhiPolicyError,
  ProviderConfigError,
  ProviderRequestInvalidError,
  SendInProgressError,
  WebhookPayloadError,
  WebhookRejectedError,
  WebhookReplayError,
  WebhookSignatureError,
  WebhookStaleError,
  safeIdentifier,
} from './errors';
export type { PhiRule, PhiViolation, WebhookRejection } from './errors';
export { InMemoryReplayStore, DEFAULT_CLAIM_TIMEOUT_MS, DEFAULT_REPLAY_RETENTION_MS } from './replay-store';
export type { ReplayClaim, ReplayStore, ReplayStoreOptions } from './replay-store';
export { SqliteReplayStore } from './sqlite-replay-store';
export { PostgresReplayStore } from './postgres-replay-store';
export { InMemorySentRegistry, OUTBOUND_STATES, DEFAULT_SEND_LEASE_MS, DEFAULT_SENT_RETENTION_MS, isFinal, stateRank } from './sent-registry';
export type { Channel, OutboundState, Reservation, SentRecord, SentRegistry, SentRegistryOptions } from './sent-registry';
export { SqliteSentRegistry } from './sqlite-sent-registry';
export { PostgresSentRegistry } from './postgres-sent-registry';
export type { SqliteTarget } from './sqlite-file';
export { MessageStoreDeliverySink, fanOutDeliverySink, noopDeliverySink } from './delivery-status';
export type { DeliveryStatusSink, DeliveryUpdate } from './delivery-status';
export { assertDelivered } from './delivery-check';
export { classifyHttpStatus, classifyNetworkError } from './provider-failure';
export type { FailureClass } from './provider-failure';
export { headerValue } from './headers';
export type { HeaderMap } from './headers';
