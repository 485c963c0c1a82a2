import { get } from './access';
import type { Hl7Message } from './types';

/** Identifiers of a message that may be logged (STYLE.md §8): never field content. */
export interface Hl7MessageInfo {
  /** MSH-9.1^MSH-9.2, e.g. `ORU^R01`. */
  messageType: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-12.1. */
  version: string;
  /** MSH-11.1: P, T or D. */
  processingId: string;
}

/**
 * The log-safe header facts of a message, e.g. for `summarizeMessage()`.
 *
 * @param message - parsed message
 */
export function messageInfo(message: Hl7Message): Hl7MessageInfo {
  const type = get(message, 'MSH-9.1') ?? '';
  const trigger = get(message, 'MSH-9.2') ?? '';
  return {
    messageType: trigger ? `${type}^${trigger}` : type,
    controlId: get(message, 'MSH-10') ?? '',
    version: get(message, 'MSH-12.1') ?? '',
    processingId: get(message, 'MSH-11.1') ?? '',
  };
}
