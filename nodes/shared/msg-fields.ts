/** Reads an optional string property from a msg without trusting its type. */
export function stringProp(msg: Record<string, unknown>, key: string): string | undefined {
  const v = msg[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** msg.payload as bytes: strings as UTF-8, Buffers as they are, objects as JSON. */
export function payloadBytes(payload: unknown): Buffer {
  if (Buffer.isBuffer(payload)) return payload;
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  return Buffer.from(JSON.stringify(payload ?? null), 'utf8');
}

/**
 * A stored body as msg.payload again: what was an object or array (stored
 * as its JSON) comes back as one, other bytes as UTF-8 text. HL7, X12 and
 * plain text never start with `{` or `[`.
 */
export function payloadOf(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (/^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Text that only looks like JSON: it goes on as text.
    }
  }
  return text;
}
