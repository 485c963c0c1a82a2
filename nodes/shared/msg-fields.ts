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
