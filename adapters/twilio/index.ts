/**
 * Twilio SMS: sending from a messaging service with per-message status
 * callbacks (twilio-sms), the signed callback endpoints for delivery receipts
 * and inbound STOP/START/HELP (twilio-callback), the opt-out registry every
 * send checks, and quiet hours in the clinic's time zone. Plain TypeScript;
 * never imports node-red.
 */
export { TwilioSmsSender, CALLBACK_HUB_ID_PARAM, CALLBACK_ISSUED_PARAM, MAX_SMS_BODY } from './twilio-sms';
export type { SmsRequest, SmsSendResult, SmsSender, TwilioSmsDeps, TwilioSmsOptions } from './twilio-sms';
export { TwilioCallbackHandler, EMPTY_TWIML, inboundMessageOf } from './twilio-callbacks';
export type { InboundMessage, InboundMessageOutcome, StatusCallbackOutcome, TwilioCallbackDeps, TwilioCallbackOptions } from './twilio-callbacks';
export { TwilioSignatureVerifier, TWILIO_SIGNATURE_HEADER, parseForm } from './twilio-signature';
export type { TwilioParams } from './twilio-signature';
export { InMemoryOptOutRegistry } from './opt-out-registry';
export type { OptOutRegistry, OptOutSource } from './opt-out-registry';
export { SqliteOptOutRegistry } from './sqlite-opt-out-registry';
export { PostgresOptOutRegistry } from './postgres-opt-out-registry';
export type { SqliteOptOutOptions } from './sqlite-opt-out-registry';
export { quietHoursDecision, assertTimeZone, DEFAULT_QUIET_HOURS } from './quiet-hours';
export type { QuietHoursDecision, QuietHoursWindow } from './quiet-hours';
export { classifyKeyword } from './keywords';
export type { KeywordAction } from './keywords';
export { deliveryStateOf } from './status-map';
export { toE164 } from './phone';
export { createTwilioClient, BaseUrlRequestClient } from './twilio-client';
export type { TwilioClientOptions } from './twilio-client';
export { RecipientOptedOutError, TwilioRequestError, TWILIO_UNSUBSCRIBED, fromTwilioError } from './errors';
