import { get, type Hl7Message } from '../hl7';

/**
 * Sender and receiver of a message as the hub records them: `app^facility`
 * from MSH-3.1/MSH-4.1 and MSH-5.1/MSH-6.1, or just `app` when the facility
 * is empty. The same form hl7-intake records for inbound messages, so a
 * search by sender finds both directions.
 *
 * @param message - parsed message
 */
export function hl7Parties(message: Hl7Message): { sender: string; receiver: string } {
  return {
    sender: party(get(message, 'MSH-3.1'), get(message, 'MSH-4.1')),
    receiver: party(get(message, 'MSH-5.1'), get(message, 'MSH-6.1')),
  };
}

function party(application: string | undefined, facility: string | undefined): string {
  return facility ? `${application ?? ''}^${facility}` : (application ?? '');
}
