import type { Remittance } from './read-835';

/**
 * What an 835 means for the EMR: one payment event per claim and one
 * adjustment event per CAS triplet. Every event has a stable `eventId`
 * derived from the payer's trace number (TRN02) and claim identifiers, so
 * re-reading the same 835 yields the same IDs and the EMR's conditional
 * create (If-None-Exist on the identifier) never posts a payment twice.
 */
export interface ClaimPaymentEvent {
  type: 'claim.payment';
  eventId: string;
  /** CLP01 = the 837's CLM01. */
  claimId: string;
  payerClaimControlNumber: string;
  /** CLP02. */
  statusCode: string;
  /** CLP02 = 4: the payer denied the claim. */
  denied: boolean;
  /** CLP02 = 22: reversal of a previous payment. */
  reversal: boolean;
  chargeCents: number;
  paidCents: number;
  patientResponsibilityCents: number;
  paymentDate: string;
  paymentMethod: string;
  traceNumber: string;
  payerName: string;
  payerId?: string;
}

export interface ClaimAdjustmentEvent {
  type: 'claim.adjustment';
  eventId: string;
  claimId: string;
  level: 'claim' | 'service';
  /** For service-level adjustments: SVC01 procedure code and REF*6R. */
  procedureCode?: string;
  lineControlNumber?: string;
  /** CAS01 group code (CO, PR, OA, PI, CR). */
  group: string;
  /** CARC. */
  reason: string;
  amountCents: number;
  quantity?: number;
  traceNumber: string;
}

export type RemittanceEvent = ClaimPaymentEvent | ClaimAdjustmentEvent;

/**
 * Turn one remittance into EMR events, in document order.
 * @param remittance - from `read835`
 */
export function remittanceEvents(remittance: Remittance): RemittanceEvent[] {
  const events: RemittanceEvent[] = [];
  for (const claim of remittance.claims) {
    const base = `${remittance.traceNumber}:${claim.claimId}:${claim.payerClaimControlNumber}`;
    events.push({
      type: 'claim.payment',
      eventId: `${base}:payment`,
      claimId: claim.claimId,
      payerClaimControlNumber: claim.payerClaimControlNumber,
      statusCode: claim.statusCode,
      denied: claim.statusCode === '4',
      reversal: claim.statusCode === '22',
      chargeCents: claim.chargeCents,
      paidCents: claim.paidCents,
      patientResponsibilityCents: claim.patientResponsibilityCents,
      paymentDate: remittance.paymentDate,
      paymentMethod: remittance.paymentMethod,
      traceNumber: remittance.traceNumber,
      payerName: remittance.payer.name,
      ...(remittance.payer.id ? { payerId: remittance.payer.id } : {}),
    });
    let n = 0;
    const adjustment = (level: 'claim' | 'service', a: { group: string; reason: string; amountCents: number; quantity?: number }, line?: { procedureCode: string; lineControlNumber?: string }): void => {
      n++;
      events.push({
        type: 'claim.adjustment',
        eventId: `${base}:adj:${n}`,
        claimId: claim.claimId,
        level,
        ...(line ? { procedureCode: line.procedureCode } : {}),
        ...(line?.lineControlNumber ? { lineControlNumber: line.lineControlNumber } : {}),
        group: a.group,
        reason: a.reason,
        amountCents: a.amountCents,
        ...(a.quantity !== undefined ? { quantity: a.quantity } : {}),
        traceNumber: remittance.traceNumber,
      });
    };
    for (const a of claim.adjustments) adjustment('claim', a);
    for (const s of claim.services) for (const a of s.adjustments) adjustment('service', a, s);
  }
  return events;
}
