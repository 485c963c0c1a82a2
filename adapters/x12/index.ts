/**
 * X12 5010 billing: 837P claims (build, read, validate), 835 remittances,
 * 999/TA1 acknowledgments, control numbers and delivery to a clearinghouse.
 * Plain TypeScript on node-x12; never imports node-red.
 *
 * Node entry points:
 * - x12-837p:    claimFromDft / claimFromFhir → Claim837Builder.build
 * - x12-parse:   parseX12 (835 → events, 999/TA1 → acks), correlateAcknowledgment
 * - x12-deliver: X12Delivery (SftpX12Delivery, HttpsX12Delivery)
 */
export type {
  BillingParties,
  DependentPatient,
  Gender,
  InterchangeParties,
  Payer,
  PersonName,
  PostalAddress,
  ProfessionalClaim,
  ServiceLine,
  Subscriber,
} from './claim';
export { claimTotalCents, isIcd10, isProcedureCode, normalizeIcd10 } from './claim';
export { claimFromDft, type ChargeClaimOptions } from './claim-from-hl7';
export { claimFromFhir, CPT_SYSTEM, HCPCS_SYSTEM, ICD10CM_SYSTEM, POS_SYSTEM } from './claim-from-fhir';
export { Claim837Builder, render837P, checkClaim, X222A1, DEFAULT_DELIMITERS } from './build-837p';
export type { Built837P, Claim837Deps, Claim837Options, ControlNumbers837 } from './build-837p';
export { submissionFileName, type SubmissionManifest } from './submission';
export {
  InMemoryControlNumberSource,
  CONTROL_NUMBER_MAX,
  formatGroupControlNumber,
  formatInterchangeControlNumber,
  formatTransactionControlNumber,
  type ControlNumberKind,
  type ControlNumberSource,
} from './control-numbers';
export { SqliteControlNumberSource, type SqliteControlNumberOptions, type SqliteControlNumberDeps } from './sqlite-control-numbers';
export { readInterchange, readComposite, splitComposite } from './reader';
export { element, type X12Delimiters, type X12Document, type X12FunctionalGroup, type X12Segment, type X12TransactionSet } from './types';
export { read837P, type Read837Claim, type Read837P } from './read-837p';
export { validate837P, assertValid837P } from './validate-837p';
export { read835, type Adjustment, type ClaimPayment, type Read835, type Remittance, type ServicePayment } from './read-835';
export { remittanceEvents, type ClaimAdjustmentEvent, type ClaimPaymentEvent, type RemittanceEvent } from './remittance-events';
export { readAcknowledgment, type Acknowledgment, type GroupAck, type InterchangeAck, type SegmentError, type TransactionAck } from './read-ack';
export { correlateAcknowledgment, type ClaimAckResult, type ClaimAckStatus } from './correlate-ack';
export { parseX12, type ParsedX12 } from './parse-x12';
export { summarizeX12 } from './summary';
export { isValidNpi } from './npi';
export { toCents, formatAmount } from './amounts';
export type { X12Delivery, X12DeliveryReceipt } from './delivery';
export { SftpX12Delivery } from './sftp-delivery';
export { HttpsX12Delivery, type HttpsX12DeliveryDeps, type HttpsX12DeliveryOptions } from './https-delivery';
export { nodeHttpsRequest, HttpTimeout, type HttpRequest, type HttpRequestInit, type HttpResponse } from './https-request';
export {
  ControlNumberError,
  X12BuildError,
  X12DeliveryError,
  X12ParseError,
  X12ValidationError,
  describeLocation,
  type X12Location,
  type X12ValidationIssue,
} from './errors';
