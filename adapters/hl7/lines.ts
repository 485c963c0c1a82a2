/**
 * Split text into segment lines and the exact terminator after each one.
 *
 * HL7 terminates segments with CR, but files and some senders use LF or
 * CRLF, so any run of CR/LF ends a segment. The run itself is kept (blank
 * lines included) so the text can be rebuilt byte for byte. The last
 * terminator is `''` when the text does not end with one.
 */
export interface SegmentLines {
  lines: string[];
  terminators: string[];
}

/**
 * @param text - the whole input
 * @param start - where the first segment begins (after a BOM)
 */
export function splitLines(text: string, start: number): SegmentLines {
  const lines: string[] = [];
  const terminators: string[] = [];
  const len = text.length;
  let pos = start;
  // Track the next CR and LF separately so an all-CR message never rescans for LF.
  let nextCr = text.indexOf('\r', pos);
  let nextLf = text.indexOf('\n', pos);
  while (pos < len) {
    if (nextCr !== -1 && nextCr < pos) nextCr = text.indexOf('\r', pos);
    if (nextLf !== -1 && nextLf < pos) nextLf = text.indexOf('\n', pos);
    const end = nextCr === -1 ? nextLf : nextLf === -1 ? nextCr : nextCr < nextLf ? nextCr : nextLf;
    if (end === -1) {
      lines.push(text.slice(pos));
      terminators.push('');
      break;
    }
    let after = end + 1;
    for (;;) {
      const c = text.charCodeAt(after);
      if (c !== 13 && c !== 10) break;
      after++;
    }
    lines.push(text.slice(pos, end));
    terminators.push(after === end + 1 ? (text[end] === '\r' ? '\r' : '\n') : text.slice(end, after));
    pos = after;
  }
  return { lines, terminators };
}

/** The terminator to use for new segments: the first one, reduced to CR, LF or CRLF. */
export function canonicalLineEnding(terminator: string | undefined): string {
  if (!terminator) return '\r';
  if (terminator.startsWith('\r\n')) return '\r\n';
  return terminator[0]!;
}

/** Character offset of line `index`, for error positions (only computed on error paths). */
export function lineOffset(split: SegmentLines, index: number, start: number): number {
  let offset = start;
  for (let i = 0; i < index; i++) offset += split.lines[i]!.length + split.terminators[i]!.length;
  return offset;
}
