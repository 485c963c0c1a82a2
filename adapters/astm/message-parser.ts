import { delimitersFromHeader } from './delimiters';
import { AstmParseError } from './errors';
import type { AstmMessage, AstmOrderGroup, AstmPatientGroup } from './message';
import { splitRecord } from './record';
import type { AstmRecord } from './record';
import { splitRecordTexts } from './record-stream';

const KNOWN_TYPES = new Set(['H', 'P', 'O', 'R', 'C', 'Q', 'M', 'S', 'L']);

/**
 * Build one message from its record texts; the first must be the H record.
 *
 * @param recordTexts - one string per record, without terminators
 * @throws AstmParseError EMPTY, MISSING_HEADER, BAD_DELIMITERS
 */
export function buildMessage(recordTexts: readonly string[]): AstmMessage {
  const first = recordTexts[0];
  if (first === undefined) throw new AstmParseError('no records', 'EMPTY');
  if (first[0] !== 'H') throw new AstmParseError('first record is not an H record', 'MISSING_HEADER', 0);
  const delimiters = delimitersFromHeader(first);
  const records = recordTexts.map((t) => splitRecord(t, delimiters));
  const header = records[0]!;
  const message: AstmMessage = { delimiters, records, header, comments: [], manufacturer: [], patients: [], queries: [], warnings: [] };
  // The record that C and M records attach to, and the open groups.
  let patient: AstmPatientGroup | undefined;
  let order: AstmOrderGroup | undefined;
  let attach: { comments: AstmRecord[]; manufacturer: AstmRecord[] } = message;
  let queryComments: AstmRecord[] | undefined;
  records.forEach((record, index) => {
    if (index === 0) return;
    switch (record.type) {
      case 'P':
        patient = { record, comments: [], manufacturer: [], orders: [] };
        message.patients.push(patient);
        order = undefined;
        attach = patient;
        queryComments = undefined;
        break;
      case 'O':
        if (!patient) {
          patient = { comments: [], manufacturer: [], orders: [] };
          message.patients.push(patient);
        }
        order = { record, comments: [], manufacturer: [], results: [] };
        patient.orders.push(order);
        attach = order;
        queryComments = undefined;
        break;
      case 'R': {
        if (!order) {
          message.warnings.push({ reason: 'ORPHAN_RESULT', recordIndex: index });
          if (!patient) {
            patient = { comments: [], manufacturer: [], orders: [] };
            message.patients.push(patient);
          }
          order = { comments: [], manufacturer: [], results: [] };
          patient.orders.push(order);
        }
        const result = { record, comments: [], manufacturer: [] };
        order.results.push(result);
        attach = result;
        queryComments = undefined;
        break;
      }
      case 'Q': {
        const query = { record, comments: [] as AstmRecord[] };
        message.queries.push(query);
        queryComments = query.comments;
        break;
      }
      case 'C':
        (queryComments ?? attach.comments).push(record);
        break;
      case 'M':
        attach.manufacturer.push(record);
        break;
      case 'L':
        message.terminator = record;
        break;
      default:
        if (!KNOWN_TYPES.has(record.type)) message.warnings.push({ reason: 'UNKNOWN_RECORD_TYPE', recordIndex: index });
    }
  });
  if (!message.terminator) message.warnings.push({ reason: 'NO_TERMINATOR', recordIndex: records.length - 1 });
  return message;
}

export interface AstmStreamParseResult {
  messages: AstmMessage[];
  /** Records before the first H record: they belong to no message. */
  orphanRecords: number;
}

/**
 * Parse a record stream (one or several H .. L messages back to back, as
 * in a stored `.astm` file or the text of an E1381 session). A message
 * without an L record ends at the next H record or at the end of the text.
 *
 * @param text - E1394 records separated by CR (LF and CR LF accepted)
 */
export function parseRecordStream(text: string): AstmStreamParseResult {
  const result: AstmStreamParseResult = { messages: [], orphanRecords: 0 };
  let current: string[] | undefined;
  for (const line of splitRecordTexts(text)) {
    const type = line[0];
    if (type === 'H') {
      if (current) result.messages.push(buildMessage(current));
      current = [line];
    } else if (!current) {
      result.orphanRecords++;
    } else {
      current.push(line);
      if (type === 'L') {
        result.messages.push(buildMessage(current));
        current = undefined;
      }
    }
  }
  if (current) result.messages.push(buildMessage(current));
  return result;
}
