import { formatAstmTimestamp } from './astm-time';
import { DEFAULT_DELIMITERS } from './delimiters';
import type { AstmDelimiters } from './delimiters';
import type { AstmHostQuery } from './query';
import type { AstmRecord } from './record';
import { buildRecord, serializeRecords } from './serialize';
import type { AstmFieldInput } from './serialize';

/** Demographics for the P record of an order download (E1394 §8). */
export interface AstmPatientInput {
  /** P.3 practice-assigned patient ID. */
  id?: string;
  /** P.4 laboratory-assigned patient ID. */
  labId?: string;
  /** P.6 name: last ^ first ^ middle. */
  name?: { family: string; given?: string; middle?: string };
  /** P.8 birth date, `YYYYMMDD`. */
  birthDate?: string;
  /** P.9 sex: M, F, U. */
  sex?: string;
}

/** One order (E1394 §9 O record) for an instrument. */
export interface AstmOrderInput {
  /** O.3 specimen ID (the host's, usually the barcode). */
  specimenId: string;
  /** O.4 instrument specimen ID components, echoed from a query when the instrument needs it (cobas e411). */
  instrumentSpecimenId?: readonly string[];
  /** Instrument test codes; each becomes a repeat `^^^code` of O.5. Empty for "no tests for this specimen". */
  tests: readonly string[];
  /** O.6 priority: R routine, S stat, A ASAP. Default R. */
  priority?: string;
  /** O.7 requested date/time, ASTM format. */
  requestedAt?: string;
  /** O.8 specimen collection date/time, ASTM format. */
  collectedAt?: string;
  /** O.12 action code: N new (default), A add, C cancel, Q treat as QC. */
  actionCode?: string;
  /** O.16 specimen descriptor (type), e.g. `SERUM`. */
  specimenType?: string;
  patient?: AstmPatientInput;
}

export interface AstmOrderMessageOptions {
  /** H.5 sender name or ID; components allowed (`host^1`). */
  sender: string | readonly string[];
  /** H.10 receiver ID. */
  receiver?: string | readonly string[];
  /** H.11 comment or special instructions (cobas e411: `TSDWN^REPLY`). */
  headerComment?: string | readonly string[];
  /** H.12 processing ID: P production (default), T training, D debugging, Q QC. */
  processingId?: string;
  /** H.13 version: default `LIS2-A2`. */
  version?: string;
  /** H.14 message time; default now. */
  at?: Date;
  /** Offset the instrument's clock runs at, for H.14; default `Z`. */
  utcOffset?: string;
  /** O.26 report type: O order (default), Q response to query. */
  reportType?: string;
  /** L.3 termination code: N normal (default); F "last request processed"; I "no information". */
  terminationCode?: string;
  /** Put each test in its own O record (as the IMMULITE download sample does) instead of repeats in one. */
  oneTestPerOrder?: boolean;
  /** Default `|\^&`. */
  delimiters?: AstmDelimiters;
}

const TEST_CODE_COMPONENT = 4;

function universalTestId(code: string): string[] {
  const parts = new Array<string>(TEST_CODE_COMPONENT).fill('');
  parts[TEST_CODE_COMPONENT - 1] = code;
  return parts;
}

/**
 * Build an order message (H, P, O.., L) for an instrument: an order download,
 * or the body of a query response. Consecutive orders for the same patient
 * share one P record; orders without a patient get an empty P record, since
 * E1394 places every O under a P.
 *
 * @param orders - the orders, in the order they should be sent
 * @param options - header fields and layout
 * @returns the records, in transmission order
 */
export function buildOrderRecords(orders: readonly AstmOrderInput[], options: AstmOrderMessageOptions): AstmRecord[] {
  const d = options.delimiters ?? DEFAULT_DELIMITERS;
  const records: AstmRecord[] = [
    buildRecord(
      'H',
      [
        '', // H.3 message control ID
        '', // H.4 password
        options.sender, // H.5
        '', // H.6 address
        '', // H.7 reserved
        '', // H.8 telephone
        '', // H.9 characteristics
        options.receiver, // H.10
        options.headerComment, // H.11
        options.processingId ?? 'P', // H.12
        options.version ?? 'LIS2-A2', // H.13
        formatAstmTimestamp(options.at ?? new Date(), options.utcOffset), // H.14
      ],
      d,
    ),
  ];
  let patientSeq = 0;
  let orderSeq = 0;
  let lastPatientKey: string | undefined;
  for (const order of orders) {
    const key = JSON.stringify(order.patient ?? null);
    if (key !== lastPatientKey || patientSeq === 0) {
      patientSeq++;
      orderSeq = 0;
      lastPatientKey = key;
      records.push(buildRecord('P', patientFields(patientSeq, order.patient), d));
    }
    const testGroups = options.oneTestPerOrder && order.tests.length > 1 ? order.tests.map((t) => [t]) : [order.tests];
    for (const tests of testGroups) {
      orderSeq++;
      records.push(buildRecord('O', orderFields(orderSeq, order, tests, options.reportType ?? 'O'), d));
    }
  }
  records.push(buildRecord('L', ['1', options.terminationCode ?? 'N'], d));
  return records;
}

/**
 * The same as {@link buildOrderRecords}, serialized to E1394 text (records
 * ended by CR), ready for `AstmConnection.send`.
 */
export function buildOrderMessage(orders: readonly AstmOrderInput[], options: AstmOrderMessageOptions): string {
  return serializeRecords(buildOrderRecords(orders, options), options.delimiters ?? DEFAULT_DELIMITERS);
}

/**
 * The host's answer to a query (E1394 §12): the orders found, with report
 * type Q. When none were found the message is H and L with termination code
 * I ("no information available from last query", LIS2-A2 §13), unless the
 * options say otherwise.
 *
 * @param query - the query being answered (its specimen IDs are not re-checked here)
 * @param orders - orders for the queried specimens
 * @param options - header fields; `reportType` defaults to Q
 */
export function buildQueryResponse(
  query: AstmHostQuery,
  orders: readonly AstmOrderInput[],
  options: AstmOrderMessageOptions & AstmQueryResponseOptions,
): string {
  const all = [...orders];
  if (options.answerUnknownSpecimens) {
    const known = new Set(orders.map((o) => o.specimenId));
    for (const range of query.startingRange) {
      const id = (range[query.specimenIdComponent - 1] ?? '').trim();
      if (id === '' || known.has(id)) continue;
      known.add(id);
      const rest = range.slice(query.specimenIdComponent);
      all.push({ specimenId: id, tests: [], ...(rest.some((c) => c !== '') ? { instrumentSpecimenId: rest } : {}) });
    }
  }
  return buildOrderMessage(all, {
    ...options,
    reportType: options.reportType ?? 'Q',
    terminationCode: options.terminationCode ?? (all.length === 0 ? 'I' : 'N'),
  });
}

export interface AstmQueryResponseOptions {
  /**
   * Answer each queried specimen that has no order with an O record without
   * tests (cobas e411 manual, example 2) instead of leaving it out. Its O.4
   * echoes the query's Q.3 components after the specimen ID
   * (sequence, rack, position on the cobas e411).
   */
  answerUnknownSpecimens?: boolean;
}

function patientFields(seq: number, p: AstmPatientInput | undefined): AstmFieldInput[] {
  if (!p) return [String(seq)];
  const name = p.name ? [p.name.family, p.name.given ?? '', p.name.middle ?? ''] : undefined;
  return [
    String(seq), // P.2
    p.id, // P.3
    p.labId, // P.4
    '', // P.5
    name, // P.6
    '', // P.7 mother's maiden name
    p.birthDate, // P.8
    p.sex, // P.9
  ];
}

function orderFields(seq: number, o: AstmOrderInput, tests: readonly string[], reportType: string): AstmFieldInput[] {
  return [
    String(seq), // O.2
    o.specimenId, // O.3
    o.instrumentSpecimenId, // O.4
    tests.map(universalTestId), // O.5
    o.priority ?? 'R', // O.6
    o.requestedAt, // O.7
    o.collectedAt, // O.8
    '', // O.9 collection end time
    '', // O.10 collection volume
    '', // O.11 collector ID
    o.actionCode ?? 'N', // O.12
    '', // O.13 danger code
    '', // O.14 clinical information
    '', // O.15 date/time specimen received
    o.specimenType, // O.16
    '', // O.17 ordering physician
    '', // O.18 physician telephone
    '', // O.19 user field 1
    '', // O.20 user field 2
    '', // O.21 lab field 1
    '', // O.22 lab field 2
    '', // O.23 date/time results reported
    '', // O.24 instrument charge
    '', // O.25 instrument section ID
    reportType, // O.26
  ];
}
