/**
 * Carrier and CTIA opt-out keywords, as Twilio's default opt-out handling
 * recognises them on messaging services. The hub keeps its own registry from
 * them too, because Twilio's list is per sender and the hub must honour STOP
 * at once for every message it sends (ivf-domain.md §3).
 */
export type KeywordAction = 'opt-out' | 'opt-in' | 'help';

const OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);
const HELP = new Set(['HELP', 'INFO']);

/**
 * What an inbound SMS asks for. With Twilio Advanced Opt-Out, Twilio has
 * matched the (possibly custom) keyword already and says so in `OptOutType`;
 * otherwise the whole body, trimmed and without trailing punctuation, must be
 * a keyword ("stop" yes, "please stop texting" no), as carriers match it.
 * @param body - the message text
 * @param optOutType - Twilio's `OptOutType` parameter, when present
 */
export function classifyKeyword(body: string, optOutType?: string | null): KeywordAction | null {
  const typed = (optOutType ?? '').trim().toUpperCase();
  if (typed === 'STOP') return 'opt-out';
  if (typed === 'START') return 'opt-in';
  if (typed === 'HELP') return 'help';
  const word = body.trim().replace(/[.!?\s]+$/, '').toUpperCase();
  if (OPT_OUT.has(word)) return 'opt-out';
  if (OPT_IN.has(word)) return 'opt-in';
  if (HELP.has(word)) return 'help';
  return null;
}
