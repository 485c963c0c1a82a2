/**
 * EMR core integration. emr-out: a FHIR R4 REST client (conditional create on
 * business identifiers, conditional update, patient lookup) with bearer or
 * OAuth2 client-credentials auth. emr-in: webhook authentication (HMAC with
 * timestamp and replay window, or token) and typed EMR events.
 * Plain TypeScript; never imports node-red.
 */
export { FhirRestClient } from './fhir-client';
export type { FhirClient, FhirClientDeps, FhirClientOptions, FhirIdentifier, FhirResource, SaveResult } from './fhir-client';
export { BearerTokenAuth, ClientCredentialsAuth } from './auth';
export type { ClientCredentialsDeps, ClientCredentialsOptions, FhirAuth } from './auth';
export type { FetchFn, FetchResponse } from './fetch-types';
export { paymentNoticeFromRemittance, type PaymentNoticeOptions } from './payment-notice';
export { WebhookVerifier, signWebhook } from './webhook-verifier';
export type { HeaderMap, VerifiedRequest, WebhookVerifierDeps, WebhookVerifierOptions } from './webhook-verifier';
export { InMemoryReplayGuard, type ReplayGuard } from './replay-guard';
export { parseEmrEvent, EMR_EVENT_TYPES } from './emr-events';
export { asJson, identifierValue, listOf, resolveReference, typedIdentifier } from './fhir-json';
export type { AppointmentData, ChargeData, EmrEvent, EmrEventType, FhirJson, InvoiceData, OrderData } from './emr-events';
export { EmrEventReceiver, type EmrReceiveResult } from './emr-receiver';
export {
  EmrEventError,
  FhirConnectionError,
  FhirHttpError,
  FhirResourceError,
  FhirResponseError,
  FhirTimeoutError,
  OAuthTokenError,
  WebhookVerificationError,
  type WebhookRejection,
} from './errors';
