/**
 * SendGrid email: dynamic-template sends with categories and the hub message
 * id as a custom argument (sendgrid-email), and the ECDSA-signed event
 * webhook that records delivered / bounced / dropped (sendgrid-webhook).
 * Plain TypeScript; never imports node-red.
 */
export { SendGridEmailSender, CUSTOM_ARG_HUB_ID } from './sendgrid-email';
export type { EmailRequest, EmailSendResult, EmailSender, SendGridEmailDeps, SendGridEmailOptions } from './sendgrid-email';
export { SendGridEventHandler } from './sendgrid-events';
export type { SendGridEventDeps, SendGridEventOptions, SendGridEventOutcome } from './sendgrid-events';
export { EventWebhookVerifier, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './event-webhook-verifier';
export type { EventWebhookVerifierOptions } from './event-webhook-verifier';
export { createMailService } from './sendgrid-client';
export type { SendGridClientOptions } from './sendgrid-client';
export { SendGridRequestError, fromSendGridError } from './errors';
