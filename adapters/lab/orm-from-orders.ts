import { createHash } from 'node:crypto';
import { DEFAULT_DELIMITERS, encodeEscapes, encodingCharacters, formatTimestamp } from '../hl7';
import type { OrdersFromHl7, PendingOrder } from './pending-orders';

/** The order messages the hub can send the LIS: v2.5.1 ORM^O01 (most LIS), or OML^O21 (the lab order of v2.5+, with SPM). */
export type LisOrderMessageType = 'ORM^O01' | 'OML^O21';

export interface OrmOptions {
  /** Default ORM^O01. */
  messageType?: LisOrderMessageType;
  /** MSH-3 / MSH-4: the hub as sender. */
  sendingApplication?: string;
  sendingFacility?: string;
  /** MSH-5 / MSH-6: the LIS. */
  receivingApplication?: string;
  receivingFacility?: string;
  /** MSH-10 is derived from this (the EMR event id), so a retried build sends the same message id. */
  sourceId: string;
  /** MSH-7; default now. */
  now?: Date;
}

const PRIORITY: Record<string, string> = { S: 'S', A: 'A', R: 'R' };

const STRUCTURE: Record<LisOrderMessageType, string> = { 'ORM^O01': 'ORM^O01^ORM_O01', 'OML^O21': 'OML^O21^OML_O21' };

/**
 * An ORM^O01 or OML^O21 (v2.5.1) for the LIS carrying orders the EMR sent in another
 * form (FHIR ServiceRequests): one ORC/OBR pair per ordered test, ORC-1 NW,
 * and ORC-1 CA for each cancelled specimen. The fields are the ones
 * ordersFromHl7 reads, so the LIS gets what an ORM from the EMR would have
 * carried: PID-3 MRN (typed MR), PID-5 name, PID-7 birth date, PID-8 sex;
 * ORC-2/OBR-2 placer order number, ORC-3/OBR-3 the specimen id (filler /
 * accession number), OBR-4 the ordered code as the EMR sent it (LOINC),
 * OBR-5 priority, OBR-7 collection time. MSH-10 is a digest of the source
 * event id (20 characters, the v2.5 limit): the same event always yields the
 * same control id, so the LIS can recognise a retransmission.
 *
 * OML^O21 adds an SPM after each OBR (v2.5.1 §7.4.3, the specimen of the
 * observation request): SPM-2.2 the specimen id as the filler's, SPM-4 the
 * specimen type (serum, HL7 table 0487: the cycle-monitoring hormones are
 * serum assays; the orders carry no type of their own), SPM-17 the
 * collection time.
 *
 * @returns the message text (segments end with CR), or undefined when there is nothing to send
 */
export function ormFromOrders(change: OrdersFromHl7, options: OrmOptions): string | undefined {
  if (change.orders.length === 0 && change.cancelled.length === 0) return undefined;
  const d = DEFAULT_DELIMITERS;
  const esc = (s: string | undefined): string => (s ? encodeEscapes(s, d) : '');
  const controlId = createHash('sha256').update(options.sourceId).digest('hex').slice(0, 20).toUpperCase();
  const segments = [
    ['MSH', encodingCharacters(d), esc(options.sendingApplication ?? 'IVFHUB'), esc(options.sendingFacility), esc(options.receivingApplication ?? 'LIS'), esc(options.receivingFacility), formatTimestamp(options.now ?? new Date()), '', STRUCTURE[options.messageType ?? 'ORM^O01'], controlId, 'P', '2.5.1'].join(d.field),
  ];
  const patient = change.orders.find((o) => o.patient)?.patient;
  if (patient) {
    const name = patient.name ? [esc(patient.name.family), esc(patient.name.given)].join(d.component).replace(/\^+$/, '') : '';
    segments.push(['PID', '1', '', patient.id ? `${esc(patient.id)}^^^^MR` : '', '', name, '', patient.birthDate ?? '', esc(patient.sex)].join(d.field).replace(/\|+$/, ''));
  }
  const withSpecimen = options.messageType === 'OML^O21';
  let n = 0;
  for (const order of change.orders) {
    for (const code of order.orderedCodes) {
      segments.push(...orderGroup('NW', order, code, ++n, esc));
      if (withSpecimen) segments.push(specimen(order.specimenId, order.collectedAt, esc));
    }
  }
  for (const specimenId of change.cancelled) {
    segments.push(['ORC', 'CA', '', esc(specimenId)].join(d.field), ['OBR', String(++n), '', esc(specimenId)].join(d.field));
    if (withSpecimen) segments.push(specimen(specimenId, undefined, esc));
  }
  return segments.join('\r') + '\r';
}

function specimen(specimenId: string, collectedAt: string | undefined, esc: (s: string | undefined) => string): string {
  const spm = ['SPM', '1', `^${esc(specimenId)}`, '', 'SER^Serum^HL70487'];
  if (collectedAt) spm.push(...Array<string>(12).fill(''), collectedAt);
  return spm.join('|');
}

function orderGroup(control: string, order: PendingOrder, code: string, n: number, esc: (s: string | undefined) => string): string[] {
  const placer = esc(order.placerOrder);
  const specimen = esc(order.specimenId);
  // ^^LN only for what is shaped like a LOINC code; a local code goes without a coding system.
  const coded = /^\d{1,7}-\d$/.test(code) ? `${code}^^LN` : esc(code);
  const obr = ['OBR', String(n), placer, specimen, coded, PRIORITY[order.priority ?? 'R'] ?? 'R', '', order.collectedAt ?? ''];
  return [['ORC', control, placer, specimen].join('|'), obr.join('|').replace(/\|+$/, '')];
}
