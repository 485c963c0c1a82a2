import { toCents } from './amounts';
import { X12ParseError } from './errors';
import { readComposite, readInterchange } from './reader';
import type { X12Delimiters, X12Document, X12Segment } from './types';
import { element } from './types';

/**
 * 835 (005010X221A1) health care claim payment/advice, read into payments per
 * claim and per service line with their adjustments. Amounts are integer cents.
 */

/** One CAS triplet. Group: CO contractual, PR patient responsibility, OA other, PI payer initiated, CR correction. */
export interface Adjustment {
  group: string;
  /** CARC (claim adjustment reason code), e.g. 45, 1 (deductible), 2 (coinsurance), 204 (not covered). */
  reason: string;
  amountCents: number;
  quantity?: number;
}

export interface ServicePayment {
  /** SVC01-1 qualifier (HC, …) and code, modifiers. */
  qualifier: string;
  procedureCode: string;
  modifiers: string[];
  chargeCents: number;
  paidCents: number;
  units?: number;
  /** DTM*472, or DTM*150 (period start). */
  serviceDate?: string;
  /** REF*6R: the line item control number the 837 sent. */
  lineControlNumber?: string;
  adjustments: Adjustment[];
  /** LQ*HE remittance advice remark codes (RARC). */
  remarkCodes: string[];
}

export interface ClaimPayment {
  /** CLP01: the 837's CLM01 patient control number. */
  claimId: string;
  /** CLP02 claim status: 1 primary, 2 secondary, 3 tertiary, 4 denied, 19-23 forwarded/reversal… */
  statusCode: string;
  chargeCents: number;
  paidCents: number;
  /** CLP05 patient responsibility; 0 when absent. */
  patientResponsibilityCents: number;
  /** CLP06 claim filing indicator. */
  filingIndicator: string;
  /** CLP07 payer claim control number (the payer's ICN). */
  payerClaimControlNumber: string;
  /** Claim-level CAS. */
  adjustments: Adjustment[];
  services: ServicePayment[];
  /** CLP03 − all adjustments (claim and lines) = CLP04: the 835 balancing rule (TR3 1.10.2.1). */
  balanced: boolean;
}

export interface Remittance {
  /** ST02 of the 835. */
  transactionControlNumber: string;
  interchangeControlNumber: string;
  /** BPR01 transaction handling: I remittance + payment, H advice only… */
  handlingCode: string;
  /** BPR02 total actual provider payment. */
  totalPaidCents: number;
  /** BPR03 C credit, D debit. */
  creditDebit: string;
  /** BPR04: ACH, CHK, NON, FWT, BOP. */
  paymentMethod: string;
  /** BPR16 payment effective date. */
  paymentDate: string;
  /** TRN02: check or EFT trace number, the reassociation key with the bank deposit. */
  traceNumber: string;
  /** TRN03 payer identifier. */
  payerTraceId: string;
  payer: { name: string; id?: string };
  payee: { name: string; idQualifier?: string; id?: string };
  claims: ClaimPayment[];
  /** PLB provider-level adjustments (sum), which also enter BPR02. */
  providerAdjustmentCents: number;
  /** BPR02 = Σ CLP04 − Σ PLB amounts. */
  balanced: boolean;
}

export interface Read835 {
  document: X12Document;
  remittances: Remittance[];
  /** Identifier-only notes about tolerated quirks (e.g. a component separator other than ISA16). */
  warnings: string[];
}

/**
 * Read every 835 transaction set of an interchange.
 * @param input - X12 text, or a document from `readInterchange`
 * @throws X12ParseError when the interchange holds no 835
 */
export function read835(input: string | Buffer | X12Document): Read835 {
  const document = typeof input === 'string' || Buffer.isBuffer(input) ? readInterchange(input) : input;
  const remittances: Remittance[] = [];
  const warnings = [...document.warnings];
  for (const group of document.groups) {
    for (const set of group.transactions) {
      if (set.setId !== '835') continue;
      remittances.push(readRemittance(set.segments, document.delimiters, set.controlNumber, document.interchangeControlNumber, warnings));
    }
  }
  if (remittances.length === 0) throw new X12ParseError('interchange holds no 835 transaction set', 'UNSUPPORTED_TRANSACTION', { segment: 'ST' });
  return { document, remittances, warnings };
}

function readRemittance(segs: X12Segment[], d: X12Delimiters, st02: string, isa13: string, warnings: string[]): Remittance {
  const bpr = segs.find((s) => s.tag === 'BPR');
  const trn = segs.find((s) => s.tag === 'TRN');
  const remittance: Remittance = {
    transactionControlNumber: st02,
    interchangeControlNumber: isa13,
    handlingCode: element(bpr, 1),
    totalPaidCents: toCents(element(bpr, 2)) ?? 0,
    creditDebit: element(bpr, 3),
    paymentMethod: element(bpr, 4),
    paymentDate: element(bpr, 16),
    traceNumber: element(trn, 2),
    payerTraceId: element(trn, 3),
    payer: { name: '' },
    payee: { name: '' },
    claims: [],
    providerAdjustmentCents: 0,
    balanced: false,
  };
  let claim: ClaimPayment | undefined;
  let service: ServicePayment | undefined;
  let quirkReported = false;

  for (const seg of segs) {
    switch (seg.tag) {
      case 'N1':
        if (claim) break;
        if (element(seg, 1) === 'PR') remittance.payer = { name: element(seg, 2), ...(element(seg, 4) ? { id: element(seg, 4) } : {}) };
        else if (element(seg, 1) === 'PE') remittance.payee = { name: element(seg, 2), ...(element(seg, 3) ? { idQualifier: element(seg, 3), id: element(seg, 4) } : {}) };
        break;
      case 'REF':
        // Loop 1000A REF*2U carries the payer ID when N1*PR has none.
        if (!claim && element(seg, 1) === '2U' && !remittance.payer.id) remittance.payer.id = element(seg, 2);
        else if (service && element(seg, 1) === '6R') service.lineControlNumber = element(seg, 2);
        break;
      case 'LX':
        // Loop 2000 header number: claims that follow are grouped, nothing to keep.
        service = undefined;
        break;
      case 'CLP':
        service = undefined;
        claim = {
          claimId: element(seg, 1),
          statusCode: element(seg, 2),
          chargeCents: toCents(element(seg, 3)) ?? 0,
          paidCents: toCents(element(seg, 4)) ?? 0,
          patientResponsibilityCents: toCents(element(seg, 5)) ?? 0,
          filingIndicator: element(seg, 6),
          payerClaimControlNumber: element(seg, 7),
          adjustments: [],
          services: [],
          balanced: false,
        };
        remittance.claims.push(claim);
        break;
      case 'CAS':
        if (service) service.adjustments.push(...readCas(seg));
        else if (claim) claim.adjustments.push(...readCas(seg));
        break;
      case 'SVC': {
        if (!claim) break;
        const { parts, quirk } = readComposite(element(seg, 1), d);
        if (quirk && !quirkReported) {
          quirkReported = true;
          warnings.push(`SVC01 in 835 ${st02} uses a component separator other than ISA16`);
        }
        const [qualifier = '', code = '', ...modifiers] = parts;
        service = {
          qualifier,
          procedureCode: code,
          modifiers: modifiers.filter((m) => m !== ''),
          chargeCents: toCents(element(seg, 2)) ?? 0,
          paidCents: toCents(element(seg, 3)) ?? 0,
          ...(element(seg, 5) ? { units: Number(element(seg, 5)) } : {}),
          adjustments: [],
          remarkCodes: [],
        };
        claim.services.push(service);
        break;
      }
      case 'DTM':
        if (service && (element(seg, 1) === '472' || (element(seg, 1) === '150' && !service.serviceDate))) service.serviceDate = element(seg, 2);
        break;
      case 'LQ':
        if (service && element(seg, 1) === 'HE') service.remarkCodes.push(element(seg, 2));
        break;
      case 'PLB':
        // PLB03.. are pairs of (reason composite, amount); positive amounts reduce the payment.
        for (let i = 4; i <= seg.elements.length; i += 2) remittance.providerAdjustmentCents += toCents(element(seg, i)) ?? 0;
        claim = undefined;
        service = undefined;
        break;
    }
  }

  for (const c of remittance.claims) {
    const adjusted = sum(c.adjustments) + c.services.reduce((acc, s) => acc + sum(s.adjustments), 0);
    c.balanced = c.chargeCents - adjusted === c.paidCents;
  }
  const paid = remittance.claims.reduce((acc, c) => acc + c.paidCents, 0);
  remittance.balanced = paid - remittance.providerAdjustmentCents === remittance.totalPaidCents;
  return remittance;
}

/** CAS01 group, then up to six (reason, amount, quantity) triplets: CAS02-04, 05-07, … 17-19. */
function readCas(seg: X12Segment): Adjustment[] {
  const group = element(seg, 1);
  const out: Adjustment[] = [];
  for (let i = 2; i <= 17; i += 3) {
    const reason = element(seg, i);
    if (!reason) continue;
    const quantity = element(seg, i + 2);
    out.push({ group, reason, amountCents: toCents(element(seg, i + 1)) ?? 0, ...(quantity ? { quantity: Number(quantity) } : {}) });
  }
  return out;
}

function sum(adjustments: Adjustment[]): number {
  return adjustments.reduce((acc, a) => acc + a.amountCents, 0);
}
