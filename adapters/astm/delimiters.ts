import { AstmParseError } from './errors';

/**
 * E1394 delimiters (§6, message content; H record §7). The H record declares them: the
 * character after `H` is the field delimiter, and field H.2 holds the
 * repeat, component and escape delimiters in that order (`H|\^&`). E1394
 * has no sub-component level.
 */
export interface AstmDelimiters {
  field: string;
  repeat: string;
  component: string;
  /**
   * Undefined when the header declares none: the IMMULITE sample `H|\^|`
   * gives only repeat and component. Escape sequences are then plain text.
   */
  escape?: string;
}

export const DEFAULT_DELIMITERS: Readonly<AstmDelimiters> = Object.freeze({ field: '|', repeat: '\\', component: '^', escape: '&' });

function unusable(ch: string): boolean {
  // Letters and digits collide with record types and data; CR ends records.
  return /[A-Za-z0-9\r\n]/.test(ch);
}

/**
 * Read the delimiters from an H record's text.
 *
 * @param header - the H record text, starting with `H`
 * @throws AstmParseError BAD_DELIMITERS when they are missing, repeated or letters/digits
 */
export function delimitersFromHeader(header: string): AstmDelimiters {
  const field = header[1];
  if (header[0] !== 'H' || field === undefined || unusable(field)) {
    throw new AstmParseError('H record has no usable field delimiter', 'BAD_DELIMITERS', 0);
  }
  const end = header.indexOf(field, 2);
  const declared = header.slice(2, end < 0 ? undefined : end);
  const [repeat, component, escape] = [...declared];
  if (repeat === undefined || component === undefined || declared.length > 3) {
    throw new AstmParseError(`H record declares ${declared.length} delimiters; 2 or 3 expected`, 'BAD_DELIMITERS', 0);
  }
  const all = [field, repeat, component, ...(escape === undefined ? [] : [escape])];
  if (new Set(all).size !== all.length || all.some(unusable)) {
    throw new AstmParseError('H record delimiters are repeated or unusable', 'BAD_DELIMITERS', 0);
  }
  return escape === undefined ? { field, repeat, component } : { field, repeat, component, escape };
}

/** The H.2 text for a delimiter set (`\^&`). */
export function delimiterDefinition(d: AstmDelimiters): string {
  return d.repeat + d.component + (d.escape ?? '');
}
