import type { IntegrationError } from '../shared/errors';
import { AstmIncompleteMessageError, AstmParseError } from './errors';
import type { AstmIncompleteReason } from './errors';
import type { AstmMessage } from './message';
import { buildMessage } from './message-parser';
import { splitRecordTexts } from './record-stream';
import { RECORD_TERMINATOR } from './serialize';

export interface AssembledMessage {
  message: AstmMessage;
  /** The message's records, each ended by CR: the E1394 text as received. */
  text: string;
  /** False when the message had no L record and was closed by EOT or the next H. */
  terminated: boolean;
}

export interface AssemblerOutput {
  complete: AssembledMessage[];
  /** Discarded records (AstmIncompleteMessageError) and unparseable messages (AstmParseError). */
  problems: IntegrationError[];
}

/** Opaque state for {@link MessageAssembler.restore}. */
export interface AssemblerState {
  open: readonly string[] | undefined;
}

/**
 * Groups the records of successive E1381 messages into E1394 messages
 * (H .. L). A message is complete at its L record. Several messages may
 * come in one session and one E1381 message may hold several of them.
 *
 * Records left open when the session ends are handled as E1381 §6.5.2 says
 * for an incomplete message (discarded, reported), except that a session
 * ending in EOT may close a message without L when `requireTerminator` is
 * off: some instruments never send L (EUROIMMUN Analyzer I in the corpus).
 */
export class MessageAssembler {
  private open: string[] | undefined;

  /** @param requireTerminator - default true: a message must end with its L record */
  constructor(private readonly requireTerminator = true) {}

  /** Records waiting for their message's L record. */
  get pendingRecords(): number {
    return this.open?.length ?? 0;
  }

  /** Characters held in those records. */
  get pendingLength(): number {
    return this.open?.reduce((n, l) => n + l.length + 1, 0) ?? 0;
  }

  snapshot(): AssemblerState {
    return { open: this.open ? [...this.open] : undefined };
  }

  restore(state: AssemblerState): void {
    this.open = state.open ? [...state.open] : undefined;
  }

  /**
   * Add the text of one complete E1381 message (frames joined up to ETX).
   *
   * @param text - decoded text; records end in CR (a missing final CR is tolerated)
   */
  push(text: string): AssemblerOutput {
    const out: AssemblerOutput = { complete: [], problems: [] };
    let orphans = 0;
    let orphanBytes = 0;
    for (const line of splitRecordTexts(text)) {
      if (line[0] === 'H') {
        if (this.open) this.closeOpen(this.requireTerminator ? 'new-header' : undefined, out);
        this.open = [line];
      } else if (!this.open) {
        orphans++;
        orphanBytes += line.length + 1;
      } else {
        this.open.push(line);
        if (line[0] === 'L') this.complete(this.open, true, out);
      }
    }
    if (orphans > 0) {
      out.problems.push(new AstmIncompleteMessageError(`${orphans} records before any H record discarded`, 'no-header', orphans, orphanBytes));
    }
    return out;
  }

  /** The session ended with EOT. */
  endSession(): AssemblerOutput {
    const out: AssemblerOutput = { complete: [], problems: [] };
    if (this.open) this.closeOpen(this.requireTerminator ? 'no-terminator' : undefined, out);
    return out;
  }

  /**
   * The session ended abnormally: whatever is open is dropped; the caller
   * reports it (AstmIncompleteMessageError with its own reason).
   *
   * @returns what was dropped, if anything was open
   */
  discard(): { records: number; bytes: number } | undefined {
    const open = this.open;
    this.open = undefined;
    return open ? { records: open.length, bytes: open.reduce((n, l) => n + l.length + 1, 0) } : undefined;
  }

  private closeOpen(reason: AstmIncompleteReason | undefined, out: AssemblerOutput): void {
    const open = this.open!;
    this.open = undefined;
    if (reason) out.problems.push(incomplete(open, reason));
    else this.complete(open, false, out);
  }

  private complete(lines: string[], terminated: boolean, out: AssemblerOutput): void {
    this.open = undefined;
    try {
      out.complete.push({ message: buildMessage(lines), text: lines.join(RECORD_TERMINATOR) + RECORD_TERMINATOR, terminated });
    } catch (err) {
      out.problems.push(err instanceof AstmParseError ? err : new AstmParseError('message could not be parsed', 'BAD_VALUE'));
    }
  }
}

function incomplete(lines: readonly string[], reason: AstmIncompleteReason): AstmIncompleteMessageError {
  const bytes = lines.reduce((n, l) => n + l.length + 1, 0);
  return new AstmIncompleteMessageError(`incomplete message (${lines.length} records) discarded: ${reason}`, reason, lines.length, bytes);
}
