import { toCents } from './amounts';
import type { DependentPatient, Gender, PersonName, PostalAddress, ProfessionalClaim, ServiceLine, Subscriber } from './claim';
import { X12ParseError } from './errors';
import { readComposite, readInterchange } from './reader';
import type { X12Delimiters, X12Document, X12Segment } from './types';
import { element } from './types';

/** A claim read from an 837P, with where it sat in the interchange. */
export interface Read837Claim extends ProfessionalClaim {
  /** ST02 of its transaction set. */
  transactionControlNumber: string;
  /** GS06 of its group. */
  groupControlNumber: string;
  /** CLM02 as sent (the builder's total is the sum of the lines). */
  totalChargeCents: number;
  /** NM109 of loop 2010AA. */
  billingProviderNpi?: string;
}

export interface Read837P {
  document: X12Document;
  claims: Read837Claim[];
}

/**
 * Read the claims of an 837P (005010X222A1/A2). Tolerant: it follows the HL
 * hierarchy and loop starts, skips loops it does not model (2310x, 2320,
 * 2330x, 2410…) and never fails on a missing optional segment. Use
 * `validate837P` for conformance.
 * @param input - X12 text, or a document from `readInterchange`
 * @throws X12ParseError when the interchange holds no 837 transaction set
 */
export function read837P(input: string | Buffer | X12Document): Read837P {
  const document = typeof input === 'string' || Buffer.isBuffer(input) ? readInterchange(input) : input;
  const claims: Read837Claim[] = [];
  let found = false;
  for (const group of document.groups) {
    for (const set of group.transactions) {
      if (set.setId !== '837') continue;
      found = true;
      claims.push(...readTransaction(set.segments, document.delimiters, set.controlNumber, group.controlNumber));
    }
  }
  if (!found) throw new X12ParseError('interchange holds no 837 transaction set', 'UNSUPPORTED_TRANSACTION', { segment: 'ST' });
  return { document, claims };
}

interface Context {
  billingProviderNpi?: string;
  subscriber?: Subscriber;
  payer?: { name: string; id: string };
  patient?: DependentPatient;
}

function readTransaction(segs: X12Segment[], d: X12Delimiters, st02: string, gs06: string): Read837Claim[] {
  const claims: Read837Claim[] = [];
  const hl = new Map<string, Context>();
  let ctx: Context = {};
  let level = '';
  let claim: Read837Claim | undefined;
  let line: ServiceLine | undefined;
  /** Where the next N3/N4/DMG belong. */
  let target: { address?: PostalAddress; dob?: string; gender?: Gender; apply: (a: Partial<{ address: PostalAddress; dateOfBirth: string; gender: Gender }>) => void } | undefined;
  let inOtherSubscriber = false;

  for (const seg of segs) {
    switch (seg.tag) {
      case 'HL': {
        claim = undefined;
        line = undefined;
        target = undefined;
        inOtherSubscriber = false;
        level = element(seg, 3);
        const parent = hl.get(element(seg, 2)) ?? {};
        // A child HL inherits its parent's context: the 2000C patient belongs to the 2000B subscriber and payer.
        ctx = level === '20' ? {} : { ...parent, patient: undefined };
        hl.set(element(seg, 1), ctx);
        break;
      }
      case 'SBR':
        if (claim) inOtherSubscriber = true;
        else if (level === '22') {
          ctx.subscriber = {
            name: { last: '' },
            memberId: '',
            payerResponsibility: (element(seg, 1) || 'P') as Subscriber['payerResponsibility'],
            ...(element(seg, 3) ? { groupNumber: element(seg, 3) } : {}),
            ...(element(seg, 9) ? { filingIndicator: element(seg, 9) } : {}),
          };
        }
        break;
      case 'PAT':
        if (level === '23') ctx.patient = { name: { last: '' }, dateOfBirth: '', gender: 'U', relationship: element(seg, 1) };
        break;
      case 'NM1': {
        target = undefined;
        if (claim || inOtherSubscriber) break; // 2310x/2330x/2420x parties are not modelled
        const code = element(seg, 1);
        if (code === '85') ctx.billingProviderNpi = element(seg, 9) || undefined;
        else if (code === 'IL' && ctx.subscriber) {
          const s = ctx.subscriber;
          s.name = personName(seg);
          s.memberId = element(seg, 9);
          target = { apply: (a) => Object.assign(s, a) };
        } else if (code === 'PR') ctx.payer = { name: element(seg, 3), id: element(seg, 9) };
        else if (code === 'QC' && ctx.patient) {
          const p = ctx.patient;
          p.name = personName(seg);
          target = { apply: (a) => Object.assign(p, a) };
        }
        break;
      }
      case 'N3':
        if (target) target.address = { line1: element(seg, 1), ...(element(seg, 2) ? { line2: element(seg, 2) } : {}), city: '', state: '', postalCode: '' };
        break;
      case 'N4':
        if (target) {
          const address: PostalAddress = { ...(target.address ?? { line1: '' }), city: element(seg, 1), state: element(seg, 2), postalCode: element(seg, 3) };
          target.apply({ address });
        }
        break;
      case 'DMG':
        if (target && element(seg, 1) === 'D8') target.apply({ dateOfBirth: element(seg, 2), gender: (element(seg, 3) || 'U') as Gender });
        break;
      case 'CLM': {
        target = undefined;
        line = undefined;
        inOtherSubscriber = false;
        const pos = readComposite(element(seg, 5), d).parts;
        claim = {
          claimId: element(seg, 1),
          totalChargeCents: toCents(element(seg, 2)) ?? 0,
          placeOfService: pos[0] ?? '',
          frequencyCode: pos[2] || undefined,
          diagnoses: [],
          subscriber: ctx.subscriber ?? { name: { last: '' }, memberId: '' },
          ...(ctx.patient ? { patient: ctx.patient } : {}),
          payer: ctx.payer ?? { name: '', id: '' },
          lines: [],
          transactionControlNumber: st02,
          groupControlNumber: gs06,
          ...(ctx.billingProviderNpi ? { billingProviderNpi: ctx.billingProviderNpi } : {}),
        };
        claims.push(claim);
        break;
      }
      case 'REF':
        if (claim && !line && !inOtherSubscriber && element(seg, 1) === 'G1') claim.priorAuthorization = element(seg, 2);
        else if (line && element(seg, 1) === '6R') line.lineControlNumber = element(seg, 2);
        break;
      case 'HI':
        if (claim && !line && claim.diagnoses.length === 0) {
          for (const value of seg.elements) {
            const [qualifier = '', code = ''] = readComposite(value, d).parts;
            if (['ABK', 'ABF', 'BK', 'BF'].includes(qualifier) && code) claim.diagnoses.push(code);
          }
        }
        break;
      case 'LX':
        if (claim) {
          line = undefined;
          inOtherSubscriber = false;
        }
        break;
      case 'SV1':
        if (claim) {
          const [, code = '', ...modifiers] = readComposite(element(seg, 1), d).parts;
          const mods = modifiers.filter((m) => m !== '');
          line = {
            procedureCode: code,
            ...(mods.length ? { modifiers: mods } : {}),
            chargeCents: toCents(element(seg, 2)) ?? 0,
            units: Number(element(seg, 4) || '1'),
            serviceDate: '',
            diagnosisPointers: element(seg, 7) ? readComposite(element(seg, 7), d).parts.map(Number) : [],
          };
          claim.lines.push(line);
        }
        break;
      case 'DTP':
        if (line && element(seg, 1) === '472') line.serviceDate = element(seg, 3).slice(0, 8);
        break;
    }
  }
  return claims.map(tidy);
}

function personName(seg: X12Segment): PersonName {
  return {
    last: element(seg, 3),
    ...(element(seg, 4) ? { first: element(seg, 4) } : {}),
    ...(element(seg, 5) ? { middle: element(seg, 5) } : {}),
    ...(element(seg, 7) ? { suffix: element(seg, 7) } : {}),
  };
}

/** Drop keys whose value is undefined so read-back claims compare equal to built ones. */
function tidy(claim: Read837Claim): Read837Claim {
  return JSON.parse(JSON.stringify(claim)) as Read837Claim;
}
