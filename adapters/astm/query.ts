import type { AstmDelimiters } from './delimiters';
import { AstmParseError } from './errors';
import { fieldRepeats, fieldValue } from './record';
import type { AstmRecord } from './record';

/**
 * A host query (E1394 §12 / LIS2-A2 §12 Request Information record):
 * the instrument asks the host for the orders (or results) of specimens.
 */
export interface AstmHostQuery {
  /** Q.2 */
  sequence: string;
  /** Specimen IDs from the repeats of Q.3 (starting range ID). */
  specimenIds: string[];
  /** Patient IDs from component 1 of Q.3, where sent. */
  patientIds: string[];
  /**
   * Every component of each Q.3 repeat, decoded. Some instruments put more
   * there (cobas e411: sequence number, rack, position) and expect it back
   * in the reply's O.4; see AstmOrderInput.instrumentSpecimenId.
   */
  startingRange: string[][];
  /** Which Q.3 component held the specimen ID (from the parse options). */
  specimenIdComponent: number;
  /** Q.4 ending range ID: a range query when it differs from Q.3. */
  endingRange: string[][];
  /** Test codes asked for (Q.5); empty with `allTests` for `ALL`. */
  testIds: string[];
  allTests: boolean;
  /** Q.7 / Q.8 result date/time limits, raw ASTM timestamps. */
  beginResultsAt?: string;
  endResultsAt?: string;
  /**
   * Q.13 request information status code: `O` orders (demographics and
   * test orders), `A` abort/cancel the last request, `F`/`P`/`C`/`X` ...
   * for results. Upper case; `O` when the field is empty.
   */
  requestStatus: string;
  /** Q.13 = A: the instrument withdraws its earlier query (cobas e411 sends it when the host is late). */
  cancel: boolean;
}

export interface AstmQueryParseOptions {
  /**
   * Component of Q.3 holding the specimen ID. LIS2-A2: 2 (`^123ABC` from the
   * IMMULITE). The cobas e411 uses 3 (`^^000004^40^0^5^^S1^SC`).
   */
  specimenIdComponent?: number;
  /** Component of a universal test ID (`^^^E2`) holding the test code; default 4. */
  testCodeComponent?: number;
}

/**
 * Read a Q record.
 *
 * @param record - a record of type Q
 * @param d - the message's delimiters
 * @param options - where the specimen ID and test code sit
 * @throws AstmParseError BAD_RECORD_TYPE when the record is not a Q record
 */
export function parseQuery(record: AstmRecord, d: AstmDelimiters, options: AstmQueryParseOptions = {}): AstmHostQuery {
  if (record.type !== 'Q') throw new AstmParseError(`expected a Q record, got ${record.type}`, 'BAD_RECORD_TYPE');
  const specimenC = options.specimenIdComponent ?? 2;
  const testC = options.testCodeComponent ?? 4;
  const startingRange = fieldRepeats(record, 3, d);
  const endingRange = fieldRepeats(record, 4, d);
  const tests = fieldRepeats(record, 5, d);
  const allTests = tests.length === 0 || tests.some((rep) => rep.some((c) => c.trim().toUpperCase() === 'ALL'));
  const status = (fieldValue(record, 13, d) ?? '').trim().toUpperCase() || 'O';
  const nonEmpty = (values: (string | undefined)[]): string[] => values.map((v) => (v ?? '').trim()).filter((v) => v.length > 0);
  const query: AstmHostQuery = {
    sequence: fieldValue(record, 2, d) ?? '',
    specimenIds: nonEmpty(startingRange.map((rep) => rep[specimenC - 1])),
    patientIds: nonEmpty(startingRange.map((rep) => rep[0])),
    startingRange,
    specimenIdComponent: specimenC,
    endingRange,
    testIds: allTests ? [] : nonEmpty(tests.map((rep) => rep[testC - 1])),
    allTests,
    requestStatus: status,
    cancel: status === 'A',
  };
  const begin = fieldValue(record, 7, d);
  const end = fieldValue(record, 8, d);
  if (begin) query.beginResultsAt = begin;
  if (end) query.endResultsAt = end;
  return query;
}
