import type { Hl7ParseErrorReason } from './errors';

/** HL7 table 0357, message error condition codes (v2.5.1; 104 from v2.6). Goes in ERR-3. */
export const HL7_ERROR_CODES = {
  0: 'Message accepted',
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  104: 'Value too long',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  205: 'Duplicate key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
} as const;

export type Hl7ErrorCode = keyof typeof HL7_ERROR_CODES;

/**
 * The table 0357 code that best describes why a message could not be
 * parsed: structure problems are segment sequence errors, unusable
 * delimiters or bytes are data type errors.
 *
 * @param reason - Hl7ParseError.reason
 */
export function errorCodeForParseFailure(reason: Hl7ParseErrorReason): Hl7ErrorCode {
  switch (reason) {
    case 'BAD_ENCODING_CHARS':
    case 'DOUBLED_ESCAPE_CHAR':
    case 'UNSUPPORTED_CHARSET':
    case 'BAD_CHARSET_DATA':
      return 102;
    default:
      return 100;
  }
}
