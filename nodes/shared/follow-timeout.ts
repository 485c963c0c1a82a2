import type { Node } from 'node-red';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { setStatus } from './status';

/** Longest a flow may be given, as the MLLP listener's processing timeout allows (one hour). */
const MAX_FOLLOW_TIMEOUT_MS = 3_600_000;

/**
 * A webhook or pick-up source's `processingTimeoutMs` setting: how long the
 * flow may take with a stored event before its record is marked error
 * TIMEOUT, and how long a leftover of a stopped hub must lie untouched before
 * recovery sends it through again. Blank means FOLLOW_TIMEOUT_MS. A flow that
 * calls a slow EMR or clearinghouse needs more; a shorter one recovers a
 * crashed hub's leftovers sooner.
 * @throws Error naming the setting when it is not a whole number of ms from 1 to one hour
 */
export function followTimeoutMs(value: string | number | undefined | null): number {
  if (value === undefined || value === null || String(value).trim() === '') return FOLLOW_TIMEOUT_MS;
  const n = Number(String(value).trim());
  if (!Number.isInteger(n) || n < 1 || n > MAX_FOLLOW_TIMEOUT_MS) {
    throw new Error(`processingTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_FOLLOW_TIMEOUT_MS}`);
  }
  return n;
}

/**
 * The node's `processingTimeoutMs`, or null once the node has reported it
 * invalid: an error naming the setting and the status `configErrorText`.
 */
export function followTimeoutOf(node: Node, value: string | number | undefined, configErrorText: string): number | null {
  try {
    return followTimeoutMs(value);
  } catch (err) {
    node.error((err as Error).message);
    setStatus(node, 'error', configErrorText);
    return null;
  }
}
