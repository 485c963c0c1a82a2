import { toCents } from './amounts';
import { isIcd10, isProcedureCode } from './claim';
import type { X12ValidationIssue } from './errors';
import { X12ValidationError } from './errors';
import { isValidNpi } from './npi';
import { ISA_WIDTHS, readComposite } from './reader';
import type { X12Delimiters, X12Document, X12Segment, X12TransactionSet } from './types';
import { element } from './types';

/**
 * Structural validation of an 837P against 005010X222A1: envelopes (counts
 * and control numbers of ISA/IEA, GS/GE, ST/SE), the HL hierarchy
 * (2000A → 2000B → 2000C), the required segments of each loop, claim totals,
 * service-line numbering and diagnosis pointers. It is not a full TR3 edit
 * (no code-set tables beyond the shapes of ICD-10-CM, CPT/HCPCS and the NPI
 * check digit); it catches what a builder bug or a hand edit breaks, and
 * names the segment, loop and element of every failure.
 * @param doc - from `readInterchange`
 * @returns every issue found, in document order; empty when valid
 */
export function validate837P(doc: X12Document): X12ValidationIssue[] {
  const issues: X12ValidationIssue[] = [];
  checkIsa(doc, issues);
  if (doc.groups.length === 0) issues.push({ segment: 'GS', rule: 'GS_MISSING', message: 'interchange holds no functional group' });
  for (const group of doc.groups) {
    const gsPos = group.header.position;
    if (group.functionalId !== 'HC') issues.push({ segment: 'GS', position: gsPos, element: 'GS01', rule: 'GS01_CODE', message: 'GS01 must be HC for an 837' });
    if (!group.version.startsWith('005010X222')) issues.push({ segment: 'GS', position: gsPos, element: 'GS08', rule: 'GS08_VERSION', message: 'GS08 must name 005010X222' });
    if (!/^\d{1,9}$/.test(group.controlNumber)) issues.push({ segment: 'GS', position: gsPos, element: 'GS06', rule: 'GS06_FORMAT', message: 'GS06 must be 1-9 digits' });
    if (!group.trailer) issues.push({ segment: 'GE', rule: 'GE_MISSING', message: `functional group ${group.controlNumber} has no GE` });
    else {
      if (Number(element(group.trailer, 1)) !== group.transactions.length) issues.push({ segment: 'GE', position: group.trailer.position, element: 'GE01', rule: 'GE01_COUNT', message: `GE01 does not equal the ${group.transactions.length} transaction sets of the group` });
      if (element(group.trailer, 2) !== group.controlNumber) issues.push({ segment: 'GE', position: group.trailer.position, element: 'GE02', rule: 'GE02_MATCH', message: 'GE02 does not equal GS06' });
    }
    const seen = new Set<string>();
    for (const set of group.transactions) {
      if (seen.has(set.controlNumber)) issues.push({ segment: 'ST', position: 1, element: 'ST02', rule: 'ST02_DUPLICATE', message: `ST02 ${set.controlNumber} is used twice in the group` });
      seen.add(set.controlNumber);
      checkTransaction(set, group.version, doc.delimiters, issues);
    }
  }
  if (!doc.trailer) issues.push({ segment: 'IEA', rule: 'IEA_MISSING', message: 'interchange has no IEA' });
  else {
    if (Number(element(doc.trailer, 1)) !== doc.groups.length) issues.push({ segment: 'IEA', position: doc.trailer.position, element: 'IEA01', rule: 'IEA01_COUNT', message: `IEA01 does not equal the ${doc.groups.length} functional groups` });
    if (element(doc.trailer, 2).padStart(9, '0') !== doc.interchangeControlNumber || !/^\d{9}$/.test(element(doc.trailer, 2))) {
      issues.push({ segment: 'IEA', position: doc.trailer.position, element: 'IEA02', rule: 'IEA02_MATCH', message: 'IEA02 must be the nine digits of ISA13' });
    }
  }
  return issues;
}

/**
 * Validate and throw on the first failure.
 * @param doc - from `readInterchange`
 * @throws X12ValidationError naming the first failing segment
 */
export function assertValid837P(doc: X12Document): void {
  const issues = validate837P(doc);
  if (issues.length > 0) throw new X12ValidationError(issues);
}

function checkIsa(doc: X12Document, issues: X12ValidationIssue[]): void {
  ISA_WIDTHS.forEach((width, i) => {
    if ((doc.isa[i] ?? '').length !== width) {
      const ref = `ISA${String(i + 1).padStart(2, '0')}`;
      issues.push({ segment: 'ISA', position: 1, element: ref, rule: 'ISA_WIDTH', message: `${ref} must be exactly ${width} characters` });
    }
  });
  if (!/^\d{9}$/.test(doc.interchangeControlNumber)) issues.push({ segment: 'ISA', position: 1, element: 'ISA13', rule: 'ISA13_FORMAT', message: 'ISA13 must be nine digits' });
  if (doc.isa[11] !== '00501') issues.push({ segment: 'ISA', position: 1, element: 'ISA12', rule: 'ISA12_VERSION', message: 'ISA12 must be 00501' });
  if (doc.isa[14] !== 'P' && doc.isa[14] !== 'T') issues.push({ segment: 'ISA', position: 1, element: 'ISA15', rule: 'ISA15_USAGE', message: 'ISA15 must be P or T' });
}

interface HlNode {
  id: string;
  parent: string;
  level: string;
  childCode: string;
  segment: X12Segment;
  hasChild: boolean;
}

interface ClaimState {
  clm: X12Segment;
  hi?: X12Segment;
  diagnosisCount: number;
  lines: { lx: X12Segment; sv1?: X12Segment; hasDate: boolean }[];
  claimDate: boolean;
  /** After an SBR inside the claim (2320), NM1s belong to 2330x. */
  otherSubscriber: boolean;
}

function checkTransaction(set: X12TransactionSet, gsVersion: string, delimiters: X12Delimiters, issues: X12ValidationIssue[]): void {
  const push = (seg: X12Segment | undefined, loop: string | undefined, rule: string, message: string, el?: string): void => {
    issues.push({ segment: seg?.tag ?? 'SE', position: seg?.position, loop, element: el, rule, message });
  };
  if (set.setId !== '837') push(set.header, 'header', 'ST01_CODE', 'ST01 must be 837', 'ST01');
  if (!/^[0-9A-Za-z]{4,9}$/.test(set.controlNumber)) push(set.header, 'header', 'ST02_FORMAT', 'ST02 must be 4-9 characters', 'ST02');
  if (element(set.header, 3) && element(set.header, 3) !== gsVersion) push(set.header, 'header', 'ST03_MATCH', 'ST03 must equal GS08', 'ST03');
  if (!set.trailer) push(undefined, undefined, 'SE_MISSING', `transaction set ${set.controlNumber} has no SE`);
  else {
    if (Number(element(set.trailer, 1)) !== set.segments.length + 2) push(set.trailer, undefined, 'SE01_COUNT', 'SE01 does not equal the number of segments from ST to SE', 'SE01');
    if (element(set.trailer, 2) !== set.controlNumber) push(set.trailer, undefined, 'SE02_MATCH', 'SE02 does not equal ST02', 'SE02');
  }

  const segs = set.segments;
  const bht = segs[0];
  if (!bht || bht.tag !== 'BHT') push(bht ?? set.header, 'header', 'BHT_MISSING', 'BHT must follow ST');
  else {
    if (element(bht, 1) !== '0019') push(bht, 'header', 'BHT01_CODE', 'BHT01 must be 0019', 'BHT01');
    if (!['CH', 'RP', '31'].includes(element(bht, 6))) push(bht, 'header', 'BHT06_CODE', 'BHT06 must be CH, RP or 31', 'BHT06');
  }
  const firstHl = segs.findIndex((s) => s.tag === 'HL');
  const header = firstHl < 0 ? segs : segs.slice(0, firstHl);
  if (!header.some((s) => s.tag === 'NM1' && element(s, 1) === '41')) push(header[header.length - 1] ?? set.header, '1000A', 'SUBMITTER_MISSING', 'loop 1000A (NM1*41 submitter) is missing');
  if (!header.some((s) => s.tag === 'NM1' && element(s, 1) === '40')) push(header[header.length - 1] ?? set.header, '1000B', 'RECEIVER_MISSING', 'loop 1000B (NM1*40 receiver) is missing');
  if (firstHl < 0) {
    push(set.trailer, undefined, 'HL_MISSING', 'transaction set has no HL loops');
    return;
  }

  const nodes = new Map<string, HlNode>();
  let expectedHl = 1;
  let current: HlNode | undefined;
  let loop = '2000A';
  let claim: ClaimState | undefined;
  let loopSegments: X12Segment[] = [];

  const closeHl = (): void => {
    if (claim) closeClaim(claim, push);
    claim = undefined;
    if (current) checkHlContent(current, loopSegments, push);
    loopSegments = [];
  };

  for (const seg of segs.slice(firstHl)) {
    if (seg.tag === 'HL') {
      closeHl();
      const node: HlNode = { id: element(seg, 1), parent: element(seg, 2), level: element(seg, 3), childCode: element(seg, 4), segment: seg, hasChild: false };
      loop = node.level === '20' ? '2000A' : node.level === '22' ? '2000B' : node.level === '23' ? '2000C' : 'HL';
      if (node.id !== String(expectedHl)) push(seg, loop, 'HL01_SEQUENCE', `HL01 must be ${expectedHl} (HL IDs count up from 1)`, 'HL01');
      expectedHl++;
      const parent = node.parent ? nodes.get(node.parent) : undefined;
      if (node.level === '20') {
        if (node.parent) push(seg, loop, 'HL_PARENT', 'a billing provider HL (20) has no parent', 'HL02');
      } else if (!parent) {
        push(seg, loop, 'HL_PARENT', 'HL02 does not name an earlier HL', 'HL02');
      } else {
        const wanted = node.level === '22' ? '20' : node.level === '23' ? '22' : '';
        if (!wanted) push(seg, loop, 'HL03_CODE', 'HL03 must be 20, 22 or 23', 'HL03');
        else if (parent.level !== wanted) push(seg, loop, 'HL_PARENT', `HL${node.level} must have an HL${wanted} parent`, 'HL02');
        parent.hasChild = true;
      }
      nodes.set(node.id, node);
      current = node;
      continue;
    }
    if (!current) continue;
    if (seg.tag === 'CLM') {
      if (claim) closeClaim(claim, push);
      loop = '2300';
      if (current.level !== '22' && current.level !== '23') push(seg, loop, 'CLM_LEVEL', 'a claim must be inside a subscriber (22) or patient (23) HL');
      claim = { clm: seg, diagnosisCount: 0, lines: [], claimDate: false, otherSubscriber: false };
      checkClm(seg, push);
      continue;
    }
    if (!claim) {
      loopSegments.push(seg);
      continue;
    }
    // Inside a claim: 2300 segments, its sub-loops (2310x, 2320, 2330x) and 2400 lines.
    const line = claim.lines[claim.lines.length - 1];
    switch (seg.tag) {
      case 'HI':
        if (!line && !claim.hi) {
          claim.hi = seg;
          claim.diagnosisCount = checkHi(seg, delimiters, push);
        }
        break;
      case 'SBR':
        if (!line) claim.otherSubscriber = true;
        break;
      case 'LX': {
        loop = '2400';
        claim.lines.push({ lx: seg, hasDate: false });
        if (element(seg, 1) !== String(claim.lines.length)) push(seg, loop, 'LX01_SEQUENCE', `LX01 must be ${claim.lines.length} (lines count up from 1 in each claim)`, 'LX01');
        break;
      }
      case 'SV1':
        if (!line) push(seg, '2300', 'SV1_OUTSIDE_LINE', 'SV1 must follow an LX');
        else if (line.sv1) push(seg, '2400', 'SV1_REPEATED', 'a service line has one SV1');
        else {
          line.sv1 = seg;
          checkSv1(seg, claim.diagnosisCount, delimiters, push);
        }
        break;
      case 'DTP':
        if (element(seg, 1) === '472') {
          if (line) line.hasDate = true;
          else claim.claimDate = true;
        }
        break;
      case 'NM1':
        if (element(seg, 8) === 'XX' && !claim.otherSubscriber && !isValidNpi(element(seg, 9))) {
          push(seg, line ? '2420' : '2310', 'NPI_CHECK_DIGIT', 'NPI check digit is wrong', 'NM109');
        }
        break;
    }
  }
  closeHl();

  for (const node of nodes.values()) {
    const wantChild = node.hasChild ? '1' : '0';
    if (node.childCode !== wantChild) push(node.segment, node.level === '20' ? '2000A' : node.level === '22' ? '2000B' : '2000C', 'HL04_CHILD', `HL04 must be ${wantChild}`, 'HL04');
  }
  if (![...nodes.values()].some((n) => n.level === '20')) push(segs[firstHl], '2000A', 'BILLING_PROVIDER_MISSING', 'no billing provider HL (20)');
  if (!segs.some((s) => s.tag === 'CLM')) push(set.trailer, undefined, 'CLM_MISSING', 'transaction set holds no claim');
}

type Push = (seg: X12Segment | undefined, loop: string | undefined, rule: string, message: string, el?: string) => void;

function checkHlContent(node: HlNode, segs: X12Segment[], push: Push): void {
  const nm1 = (code: string): X12Segment | undefined => segs.find((s) => s.tag === 'NM1' && element(s, 1) === code);
  if (node.level === '20') {
    const provider = nm1('85');
    if (!provider) push(node.segment, '2010AA', 'BILLING_PROVIDER_NAME', 'loop 2010AA (NM1*85) is missing');
    else {
      if (element(provider, 8) !== 'XX') push(provider, '2010AA', 'NM108_CODE', 'billing provider must be identified by NPI (XX)', 'NM108');
      else if (!isValidNpi(element(provider, 9))) push(provider, '2010AA', 'NPI_CHECK_DIGIT', 'NPI check digit is wrong', 'NM109');
      if (!segs.some((s) => s.tag === 'N4')) push(provider, '2010AA', 'ADDRESS_MISSING', 'billing provider N3/N4 address is missing');
      if (!segs.some((s) => s.tag === 'REF' && (element(s, 1) === 'EI' || element(s, 1) === 'SY'))) push(provider, '2010AA', 'TAX_ID_MISSING', 'billing provider REF*EI (or SY) is missing');
    }
  } else if (node.level === '22') {
    const first = segs[0];
    if (!first || first.tag !== 'SBR') push(first ?? node.segment, '2000B', 'SBR_MISSING', 'SBR must follow the subscriber HL');
    else if (!['P', 'S', 'T', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'U'].includes(element(first, 1))) push(first, '2000B', 'SBR01_CODE', 'SBR01 is not a payer responsibility code', 'SBR01');
    const subscriber = nm1('IL');
    if (!subscriber) push(node.segment, '2010BA', 'SUBSCRIBER_NAME', 'loop 2010BA (NM1*IL) is missing');
    else if (element(subscriber, 8) !== 'MI' || !element(subscriber, 9)) push(subscriber, '2010BA', 'MEMBER_ID', 'subscriber member ID (NM108 MI, NM109) is missing', 'NM109');
    if (!nm1('PR')) push(node.segment, '2010BB', 'PAYER_NAME', 'loop 2010BB (NM1*PR) is missing');
  } else if (node.level === '23') {
    const first = segs[0];
    if (!first || first.tag !== 'PAT') push(first ?? node.segment, '2000C', 'PAT_MISSING', 'PAT must follow the patient HL');
    if (!nm1('QC')) push(node.segment, '2010CA', 'PATIENT_NAME', 'loop 2010CA (NM1*QC) is missing');
  }
}

function checkClm(seg: X12Segment, push: Push): void {
  if (!element(seg, 1)) push(seg, '2300', 'CLM01_MISSING', 'CLM01 patient control number is empty', 'CLM01');
  if (toCents(element(seg, 2)) === undefined) push(seg, '2300', 'CLM02_FORMAT', 'CLM02 is not an amount', 'CLM02');
  const clm05 = element(seg, 5);
  if (!clm05) push(seg, '2300', 'CLM05_MISSING', 'CLM05 (place of service, qualifier, frequency) is empty', 'CLM05');
}

function checkHi(seg: X12Segment, delimiters: X12Delimiters, push: Push): number {
  let count = 0;
  seg.elements.forEach((value, i) => {
    if (!value) return;
    const ref = `HI${String(i + 1).padStart(2, '0')}`;
    const [qualifier = '', code = ''] = readComposite(value, delimiters).parts;
    count++;
    if (i === 0 && qualifier !== 'ABK' && qualifier !== 'BK') push(seg, '2300', 'HI01_PRINCIPAL', 'HI01 must carry the principal diagnosis (ABK)', ref);
    if ((qualifier === 'ABK' || qualifier === 'ABF') && !isIcd10(code)) push(seg, '2300', 'HI_CODE', `${ref} is not an ICD-10-CM code`, ref);
  });
  if (count > 12) push(seg, '2300', 'HI_COUNT', 'HI carries more than 12 diagnosis codes');
  return count;
}

function checkSv1(seg: X12Segment, diagnosisCount: number, delimiters: X12Delimiters, push: Push): void {
  const parts = readComposite(element(seg, 1), delimiters).parts;
  const qualifier = parts[0] ?? '';
  const code = parts[1] ?? '';
  if (!['HC', 'ER', 'IV', 'WK'].includes(qualifier)) push(seg, '2400', 'SV101_QUALIFIER', 'SV101-1 must be HC, ER, IV or WK', 'SV101');
  else if (qualifier === 'HC' && !isProcedureCode(code)) push(seg, '2400', 'SV101_CODE', 'SV101-2 is not a CPT/HCPCS code', 'SV101');
  const charge = toCents(element(seg, 2));
  if (charge === undefined || charge < 0) push(seg, '2400', 'SV102_FORMAT', 'SV102 is not a non-negative amount', 'SV102');
  if (element(seg, 3) !== 'UN' && element(seg, 3) !== 'MJ') push(seg, '2400', 'SV103_UNIT', 'SV103 must be UN or MJ', 'SV103');
  if (!(Number(element(seg, 4)) > 0)) push(seg, '2400', 'SV104_UNITS', 'SV104 must be a positive quantity', 'SV104');
  const pointers = element(seg, 7) === '' ? [] : element(seg, 7).split(delimiters.component);
  if (pointers.length === 0 || pointers.length > 4) push(seg, '2400', 'SV107_POINTERS', 'SV107 must hold 1-4 diagnosis pointers', 'SV107');
  else if (pointers.some((p) => !/^\d+$/.test(p) || Number(p) < 1 || Number(p) > diagnosisCount)) push(seg, '2400', 'SV107_RANGE', 'SV107 points past the diagnoses in HI', 'SV107');
}

function closeClaim(claim: ClaimState, push: Push): void {
  if (!claim.hi) push(claim.clm, '2300', 'HI_MISSING', 'claim has no HI (diagnosis) segment');
  if (claim.lines.length === 0) {
    push(claim.clm, '2300', 'LX_MISSING', 'claim has no service line (2400)');
    return;
  }
  let total = 0;
  for (const line of claim.lines) {
    if (!line.sv1) push(line.lx, '2400', 'SV1_MISSING', 'service line has no SV1');
    else total += toCents(element(line.sv1, 2)) ?? 0;
    if (!line.hasDate && !claim.claimDate) push(line.sv1 ?? line.lx, '2400', 'DTP472_MISSING', 'service line has no date of service (DTP*472)');
  }
  const clm02 = toCents(element(claim.clm, 2));
  if (clm02 !== undefined && clm02 !== total) push(claim.clm, '2300', 'CLM02_TOTAL', 'CLM02 does not equal the sum of SV102 of its service lines', 'CLM02');
}
