/**
 * Loopback stand-ins for the provider APIs (Stripe, Twilio, SendGrid): the
 * real SDKs talk to them over HTTP on 127.0.0.1, and tests assert on what
 * went over the wire.
 */
export { LoopbackServer } from './loopback-server';
export type { FakeResponse, InjectedFault, RecordedRequest, Route } from './loopback-server';
export { FakeStripe, stripeErrorBody } from './fake-stripe';
export { FakeTwilio, twilioError } from './fake-twilio';
export { FakeSendGrid, sendGridError } from './fake-sendgrid';
export { parseFlatForm, parseNestedForm } from './form-body';
export type { NestedForm } from './form-body';
export { captureLogger } from './capture-logger';
export type { CapturedLogger } from './capture-logger';
