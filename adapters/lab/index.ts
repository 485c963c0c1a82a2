/**
 * The lab side of the clinic's flows, on top of adapters/hl7, adapters/astm
 * and adapters/emr: HL7 ORU results as FHIR Observations (the same shape the
 * ASTM normalizer gives), matching results to the EMR's patients and
 * treatment cycles, and pending orders (from ORM/OML or FHIR ServiceRequests)
 * kept in the store for host queries.
 * Plain TypeScript; never imports node-red.
 */
export { oruToObservations } from './hl7-results';
export type { LabQcResult, LabTestMapping, OruResultOptions, OruResults } from './hl7-results';
export { EPISODE_OF_CARE_EXTENSION, PatientMatcher } from './patient-match';
export type { MatchableObservation, PatientMatchOptions, PatientMatchResult } from './patient-match';
export { ordersFromHl7, orderMessageType, PENDING_ORDERS_ENDPOINT, PendingOrderStore, resultsBySpecimen } from './pending-orders';
export type { OrderCompletion, OrderMappingOptions, OrdersFromHl7, PendingOrder, ResultObservation, SpecimenResults } from './pending-orders';
export { ordersFromServiceRequests } from './fhir-orders';
export { ormFromOrders } from './orm-from-orders';
export type { LisOrderMessageType, OrmOptions } from './orm-from-orders';
export type { FhirOrderInput } from './fhir-orders';
export { LabMappingError, PatientNotFoundError } from './errors';
export { hl7ToIso } from './hl7-time';
export { toUcum } from './ucum';
