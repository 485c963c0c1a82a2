/**
 * Split an E1394 record stream into record texts. E1394 ends each record
 * with CR; LF and CR LF are accepted too, since stored streams and some
 * capture tools use them (E1381 forbids LF inside frame text, so an LF can
 * only be a line ending). Empty lines are dropped.
 *
 * @param text - records, e.g. the joined frame texts of an E1381 message
 */
export function splitRecordTexts(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((line) => line.trim().length > 0);
}
