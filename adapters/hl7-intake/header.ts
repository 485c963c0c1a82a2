import { get, messageInfo } from '../hl7';
import type { Hl7Message } from '../hl7';
import type { IntakeInfo } from './types';

/** Table 0155 (accept/application acknowledgment conditions). */
export type AckCondition = 'AL' | 'NE' | 'ER' | 'SU';

/**
 * The stored and logged facts of a parsed message, plus the MRN for the
 * store's keyed hash (kept apart from IntakeInfo so it never reaches a log).
 *
 * @param message - parsed message
 * @param bytes - payload size as received
 */
export function readHeader(message: Hl7Message, bytes: number): { info: IntakeInfo; patientId: string | null } {
  const base = messageInfo(message);
  const info: IntakeInfo = {
    messageType: base.messageType,
    controlId: base.controlId,
    sender: party(get(message, 'MSH-3.1'), get(message, 'MSH-4.1')),
    receiver: party(get(message, 'MSH-5.1'), get(message, 'MSH-6.1')),
    version: base.version,
    processingId: base.processingId,
    bytes,
  };
  const accept = get(message, 'MSH-15');
  const application = get(message, 'MSH-16');
  if (accept) info.acceptAckType = accept;
  if (application) info.applicationAckType = application;
  // PID-3 repeats (MR, SS, ...); the first repetition is the sender's primary identifier.
  const patientId = get(message, 'PID-3[1].1') || null;
  return { info, patientId };
}

/** `app^facility`, or just `app` when the facility is empty. */
export function party(application: string | undefined, facility: string | undefined): string {
  return facility ? `${application ?? ''}^${facility}` : (application ?? '');
}

/** Header fields read from text that did not parse, for the error record and the enhanced-mode decision. */
export interface SalvagedHeader {
  controlId: string | null;
  messageType: string | null;
  sender: string | null;
  receiver: string | null;
  acceptAckType: string | null;
}

/**
 * Best effort: split the first MSH line on its own field separator and take
 * the first component of each header field. Nothing here is trusted for
 * processing; it only labels the stored error record and picks the ACK form.
 *
 * @param text - the payload, decoded as well as possible
 */
export function salvageHeader(text: string): SalvagedHeader {
  const none: SalvagedHeader = { controlId: null, messageType: null, sender: null, receiver: null, acceptAckType: null };
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let at = start;
  if (!text.startsWith('MSH', start)) {
    const found = text.search(/[\r\n]MSH/);
    if (found < 0) return none;
    at = found + 1;
  }
  const rest = text.slice(at);
  const end = rest.search(/[\r\n]/);
  const line = end < 0 ? rest : rest.slice(0, end);
  const sep = line.charAt(3);
  if (!sep || /[A-Za-z0-9\s]/.test(sep)) return none;
  const fields = line.split(sep);
  const component = fields[1]?.charAt(0) || '^';
  const first = (n: number): string | undefined => fields[n - 1]?.split(component)[0] || undefined;
  const typeParts = (fields[8] ?? '').split(component);
  const messageType = typeParts[0] ? (typeParts[1] ? `${typeParts[0]}^${typeParts[1]}` : typeParts[0]) : null;
  return {
    controlId: fields[9] || null,
    messageType,
    sender: first(3) || first(4) ? party(first(3), first(4)) : null,
    receiver: first(5) || first(6) ? party(first(5), first(6)) : null,
    acceptAckType: first(15) ?? null,
  };
}

/**
 * Whether an enhanced-mode commit ACK with this outcome goes out under the
 * sender's MSH-15. An unknown value is treated as AL: answering is the safe side.
 *
 * @param condition - MSH-15 as sent
 * @param success - CA (true) or CE/CR (false)
 */
export function commitAckWanted(condition: string, success: boolean): boolean {
  switch (condition.toUpperCase()) {
    case 'NE':
      return false;
    case 'ER':
      return !success;
    case 'SU':
      return success;
    default:
      return true;
  }
}
