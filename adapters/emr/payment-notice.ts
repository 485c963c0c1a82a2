import type { ClaimPaymentEvent } from '../x12';
import type { FhirResource } from './fhir-client';

export interface PaymentNoticeOptions {
  /** Identifier system of the hub's payment-notice IDs (the business identifier for conditional create). */
  identifierSystem: string;
  /** Identifier system the EMR uses for claims (CLM01 = patient control number). */
  claimSystem: string;
  /** PaymentNotice.recipient (required in R4): the clinic organization, e.g. `{ reference: 'Organization/clinic' }`. */
  recipient: { reference?: string; display?: string };
  /** Payment date is the 835's BPR16; `created` is now. */
  now?: () => Date;
}

/**
 * An 835 claim payment as a FHIR R4 PaymentNotice. The identifier is the
 * event's stable ID (trace number + claim IDs), so posting it with
 * `createOnce` is idempotent: re-reading the same 835 never records the
 * payment twice.
 * @param event - from `remittanceEvents`
 * @param options - identifier systems and recipient
 */
export function paymentNoticeFromRemittance(event: ClaimPaymentEvent, options: PaymentNoticeOptions): FhirResource {
  const paymentDate = /^(\d{4})(\d{2})(\d{2})$/.exec(event.paymentDate);
  return {
    resourceType: 'PaymentNotice',
    identifier: [{ system: options.identifierSystem, value: event.eventId }],
    status: 'active',
    request: { identifier: { system: options.claimSystem, value: event.claimId } },
    created: (options.now?.() ?? new Date()).toISOString(),
    payment: { identifier: { value: event.traceNumber }, display: `${event.paymentMethod} ${event.traceNumber}` },
    ...(paymentDate ? { paymentDate: `${paymentDate[1]}-${paymentDate[2]}-${paymentDate[3]}` } : {}),
    payee: event.payerId ? { identifier: { value: event.payerId }, display: event.payerName } : { display: event.payerName },
    recipient: options.recipient,
    amount: { value: event.paidCents / 100, currency: 'USD' },
    // http://terminology.hl7.org/CodeSystem/paymentstatus: paid | cleared.
    paymentStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/paymentstatus', code: 'paid' }] },
  };
}
