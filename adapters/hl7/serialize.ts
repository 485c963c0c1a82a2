import type { Hl7Message, Hl7Segment } from './types';

/**
 * Write a message back to HL7 text. Fields are joined with the separator
 * they were split on and each segment gets the terminator it arrived with,
 * so an unchanged message comes out byte-identical (BOM included).
 *
 * @param message - a parsed or built message
 */
export function serialize(message: Hl7Message): string {
  return (message.bom ? '\uFEFF' : '') + serializeSegments(message.segments, message.delimiters.field, message.lineEnding);
}

/** @internal Also used for batch headers/trailers. */
export function serializeSegments(segments: readonly Hl7Segment[], fieldSep: string, lineEnding: string): string {
  let out = '';
  for (const segment of segments) out += segment.fields.join(fieldSep) + (segment.terminator ?? lineEnding);
  return out;
}
