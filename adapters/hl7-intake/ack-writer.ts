import { buildAck, buildAckFromRaw, encodeHl7Buffer, encodingCharacters, formatTimestamp, segmentGetRaw, serialize, set } from '../hl7';
import type { AckCode, AckError, Hl7Batch, Hl7Delimiters, Hl7Message, Hl7Segment } from '../hl7';
// Pooled: one OpenSSL call per ACK was ~1% of the intake's event-loop time (bench:mllp profile).
import { randomBytesPooled as randomBytes } from '../store/random-pool';

/** Enhanced-mode commit codes for the original-mode outcome (v2.5.1 §2.9.3, table 0008). */
const COMMIT_CODE: Record<AckCode, string> = { AA: 'CA', AE: 'CE', AR: 'CR' };

export interface AckWriterOptions {
  /** MSH-18 assumed when the original names none (the ACK copies MSH-18, so it is encoded the same way). */
  defaultCharset?: string;
  now?: () => number;
}

/**
 * Builds and encodes the responses the intake writes back: original-mode
 * ACKs (AA/AE/AR), enhanced-mode commit ACKs (CA/CE/CR) and batch ACKs.
 */
export class AckWriter {
  constructor(private readonly options: AckWriterOptions = {}) {}

  /**
   * The ACK for a parsed message.
   *
   * @param original - the message being answered
   * @param code - the original-mode outcome
   * @param enhanced - send the commit form (CA/CE/CR) instead
   * @param errors - ERR segments (table 0357 codes)
   */
  message(original: Hl7Message, code: AckCode, enhanced: boolean, errors: readonly AckError[] = []): Hl7Message {
    const ack = buildAck(original, code, { errors, now: this.date(), controlId: newControlId() });
    if (enhanced) set(ack, 'MSA-1', COMMIT_CODE[code]);
    return ack;
  }

  /**
   * The ACK for input that did not parse: MSA-2 is the control id when it can
   * be read, the header fields are whatever could be salvaged.
   *
   * @param raw - the payload as received
   * @param code - AR for unusable input, AE when the hub itself failed
   * @param enhanced - send CR/CE instead
   * @param error - the parse failure, turned into one ERR segment when `errors` is absent
   * @param errors - explicit ERR segments
   */
  fromRaw(raw: Buffer | string, code: Exclude<AckCode, 'AA'>, enhanced: boolean, error?: unknown, errors?: readonly AckError[]): Hl7Message {
    const ack = buildAckFromRaw(raw, code, { error, now: this.date(), controlId: newControlId(), ...(errors ? { errors } : {}) });
    if (enhanced) set(ack, 'MSA-1', COMMIT_CODE[code]);
    return ack;
  }

  /**
   * A batch of ACKs mirroring the received batch's FHS/BHS structure: BHS-12
   * (FHS-12) references the received BHS-11 (FHS-11), BTS-1 counts the ACKs
   * in each group, FTS-1 the groups. Groups keep their order; `acks[g][i]`
   * answers message i of group g, and an undefined entry (enhanced mode, no
   * ACK wanted) is left out.
   *
   * @param batch - the received batch
   * @param acks - per group, per message
   */
  batch(batch: Hl7Batch, acks: ReadonlyArray<ReadonlyArray<Hl7Message | undefined>>): string {
    const stamp = formatTimestamp(this.date());
    let out = '';
    if (batch.fileHeader) out += header('FHS', batch.fileHeader, batch.delimiters, stamp);
    batch.batches.forEach((group, g) => {
      const answers = (acks[g] ?? []).filter((a): a is Hl7Message => a !== undefined);
      if (group.header) out += header('BHS', group.header, group.delimiters, stamp);
      for (const ack of answers) out += serialize(ack);
      if (group.header || group.trailer) out += `BTS${group.delimiters.field}${answers.length}\r`;
    });
    if (batch.fileHeader || batch.fileTrailer) out += `FTS${batch.delimiters.field}${batch.batches.length}\r`;
    return out;
  }

  /**
   * Bytes for the wire, in the charset the ACK names (the original's MSH-18).
   * Falls back to UTF-8 if the text cannot be encoded, which only happens
   * with a charset the original itself could not have been decoded with.
   *
   * @param ack - a built ACK or batch text
   */
  encode(ack: Hl7Message | string): Buffer {
    const text = typeof ack === 'string' ? ack : serialize(ack);
    try {
      return encodeHl7Buffer(text, { defaultCharset: this.options.defaultCharset });
    } catch {
      return Buffer.from(text, 'utf8');
    }
  }

  private date(): Date {
    return new Date(this.options.now ? this.options.now() : Date.now());
  }
}

/** The commit code for an outcome, for logs and tests. */
export function commitCode(code: AckCode): string {
  return COMMIT_CODE[code];
}

/** 20 hex characters: unique enough, and within the v2.5 20-character MSH-10 limit. */
function newControlId(): string {
  return randomBytes(10).toString('hex').toUpperCase();
}

/** FHS/BHS answering a received one: sender and receiver swapped, our own control id, theirs referenced. */
function header(id: 'FHS' | 'BHS', received: Hl7Segment, d: Hl7Delimiters, stamp: string): string {
  const ctx = { delimiters: d };
  const raw = (n: number): string => segmentGetRaw(ctx, received, String(n)) ?? '';
  const fields = [id, encodingCharacters(d), raw(5), raw(6), raw(3), raw(4), stamp, '', '', '', newControlId(), raw(11)];
  while (fields.length > 2 && fields[fields.length - 1] === '') fields.pop();
  return fields.join(d.field) + '\r';
}
