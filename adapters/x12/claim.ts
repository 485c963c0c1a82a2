/**
 * The professional claim the 837P builder takes and the 837P reader returns:
 * one shape both ways, so a claim read back from the X12 can be compared with
 * the one it was built from. Dates are CCYYMMDD, money is integer cents,
 * diagnosis codes are ICD-10-CM without the dot (as X12 HI carries them).
 */

export interface PersonName {
  last: string;
  first?: string;
  middle?: string;
  suffix?: string;
}

export interface PostalAddress {
  line1: string;
  line2?: string;
  city: string;
  state: string;
  postalCode: string;
}

/** DMG03 administrative gender. */
export type Gender = 'F' | 'M' | 'U';

/** Loop 2000B/2010BA: the insured. */
export interface Subscriber {
  name: PersonName;
  /** NM109 with qualifier MI: the payer's member ID. */
  memberId: string;
  dateOfBirth?: string;
  gender?: Gender;
  address?: PostalAddress;
  /** SBR03 group or policy number. */
  groupNumber?: string;
  /** SBR01 payer responsibility sequence: P primary, S secondary, T tertiary. Default P. */
  payerResponsibility?: 'P' | 'S' | 'T';
  /** SBR09 claim filing indicator (CI commercial, MB Medicare B, MC Medicaid, BL BCBS, 16 HMO…). Default CI. */
  filingIndicator?: string;
}

/** Loop 2000C/2010CA: the patient when not the subscriber. */
export interface DependentPatient {
  name: PersonName;
  dateOfBirth: string;
  gender: Gender;
  address?: PostalAddress;
  /** PAT01 individual relationship code: 01 spouse, 19 child, G8 other. */
  relationship: string;
}

/** Loop 2010BB. */
export interface Payer {
  name: string;
  /** NM109 with qualifier PI: the payer ID the clearinghouse routes on. */
  id: string;
}

/** Loop 2400. */
export interface ServiceLine {
  /** SV101-2 CPT/HCPCS code, e.g. 58970. */
  procedureCode: string;
  /** SV101-3..6, at most four. */
  modifiers?: string[];
  /** SV102 line charge. */
  chargeCents: number;
  /** SV104 units (SV103 is always UN). */
  units: number;
  /** DTP*472 service date. */
  serviceDate: string;
  /** SV107: 1-based pointers into the claim's `diagnoses`, at most four. */
  diagnosisPointers: number[];
  /** REF*6R line item control number: comes back in the 835 SVC loop (REF*6R) so payments map to lines. */
  lineControlNumber?: string;
}

/** Loop 2300 plus its subscriber/patient/payer context. */
export interface ProfessionalClaim {
  /** CLM01 patient control number: the clinic's business identifier, echoed in 835 CLP01 and 277 responses. */
  claimId: string;
  /** CLM05-1 place of service (11 office, 22 outpatient hospital, 24 ambulatory surgical center). */
  placeOfService: string;
  /** CLM05-3 claim frequency: 1 original, 7 replacement, 8 void. Default 1. */
  frequencyCode?: string;
  /** HI: first is the principal diagnosis (ABK), the rest ABF. ICD-10-CM, dot removed. */
  diagnoses: string[];
  /** REF*G1 prior authorization number (IVF cycles often need one). */
  priorAuthorization?: string;
  subscriber: Subscriber;
  /** Present when the patient is not the subscriber (adds loop 2000C). */
  patient?: DependentPatient;
  payer: Payer;
  lines: ServiceLine[];
}

/** Loops 1000A, 1000B and 2000A/2010AA: fixed per clinic and clearinghouse, so they come from configuration. */
export interface BillingParties {
  submitter: { name: string; id: string; contactName: string; phone: string };
  receiver: { name: string; id: string };
  billingProvider: {
    /** Organization name (NM1*85*2). */
    name: string;
    /** 10-digit NPI with a valid check digit. */
    npi: string;
    /** REF*EI employer identification number, 9 digits. */
    taxId: string;
    /** PRV*BI*PXC taxonomy, e.g. 207VE0102X (reproductive endocrinology). */
    taxonomy?: string;
    address: PostalAddress;
  };
}

/** ISA/GS identification of the two trading partners. */
export interface InterchangeParties {
  /** ISA05/ISA06 (ZZ = mutually defined, 30 = federal tax id…). */
  senderQualifier: string;
  senderId: string;
  receiverQualifier: string;
  receiverId: string;
  /** GS02 / GS03. */
  applicationSenderCode: string;
  applicationReceiverCode: string;
  /** ISA15: T test, P production. */
  usage: 'T' | 'P';
}

/** Sum of the line charges: CLM02 must equal it (TR3 2300 CLM02 note). */
export function claimTotalCents(claim: Pick<ProfessionalClaim, 'lines'>): number {
  return claim.lines.reduce((sum, line) => sum + line.chargeCents, 0);
}

/** ICD-10-CM as X12 wants it: upper case, no dot (`N97.9` → `N979`). */
export function normalizeIcd10(code: string): string {
  return code.trim().toUpperCase().replace('.', '');
}

/** ICD-10-CM shape: letter, two characters, then up to four more (dot already removed). */
export function isIcd10(code: string): boolean {
  return /^[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}$/.test(code);
}

/** CPT (5 digits, or 4 digits + F/T/U) or HCPCS level II (letter + 4 digits). */
export function isProcedureCode(code: string): boolean {
  return /^(\d{4}[0-9FTU]|[A-V]\d{4})$/.test(code);
}
