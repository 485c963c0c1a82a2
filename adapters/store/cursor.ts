/** Keyset paging on (received_at desc, id desc): stable under inserts, no OFFSET scans. */
export interface CursorPosition {
  receivedAt: number;
  id: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(`${pos.receivedAt}|${pos.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition | null {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const [at, id] = text.split('|');
  const receivedAt = Number(at);
  if (!id || !Number.isSafeInteger(receivedAt)) return null;
  return { receivedAt, id };
}
