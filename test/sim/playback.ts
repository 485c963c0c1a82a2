import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseRecordStream, serializeMessage, splitCapture } from '../../adapters/astm';
import type { CaptureFrame } from '../../adapters/astm';

/**
 * What a simulated analyzer plays: E1394 messages it frames itself, or the
 * frames of a raw E1381 capture replayed byte for byte (their own frame
 * numbers, checksums and CR/LF quirks included).
 */
export type Playback =
  | { kind: 'records'; name: string; messages: string[] }
  | { kind: 'capture'; name: string; frames: CaptureFrame[] };

/**
 * Load a corpus file: `.e1381` as a capture, anything else as a record stream.
 *
 * @param file - path to a `.astm` or `.e1381` file
 */
export function loadPlayback(file: string): Playback {
  const bytes = readFileSync(file);
  const name = basename(file);
  if (file.endsWith('.e1381')) return { kind: 'capture', name, frames: splitCapture(bytes) };
  return recordsPlayback(name, bytes.toString('utf8'));
}

/**
 * A record stream (one or more H..L messages) as a playback.
 *
 * @param name - for reports
 * @param text - E1394 records separated by CR (LF accepted)
 */
export function recordsPlayback(name: string, text: string): Playback {
  const { messages } = parseRecordStream(text);
  return { kind: 'records', name, messages: messages.map(serializeMessage) };
}

/** How many E1394 messages the playback holds (what a receiver should deliver). */
export function messageCount(p: Playback): number {
  if (p.kind === 'records') return p.messages.length;
  const text = Buffer.concat(p.frames.map((f) => f.text)).toString('latin1');
  return parseRecordStream(text).messages.length;
}
