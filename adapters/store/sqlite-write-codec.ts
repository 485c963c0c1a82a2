import type { MessageRow, WriteOp } from './backend';
import type { StatusPatch } from './types';

/**
 * How a group commit crosses to the writer thread: the ops as one flat array
 * of primitives and every body (plaintext, for the thread to seal: see
 * SqliteBackend.sealBodiesWith) copied into one ArrayBuffer that is
 * transferred, not cloned. Cloning row objects with Buffers copied each
 * body's whole backing ArrayBuffer (Buffer's 8 KB pool) and was the largest
 * cost of a write on the event loop after the socket itself.
 */
export interface PackedOps {
  flat: (string | number | null)[];
  bodies: ArrayBuffer;
}

const INSERT = 0;
const UPDATE = 1;

export function packOps(ops: readonly WriteOp[]): PackedOps {
  let total = 0;
  for (const op of ops) if (op.kind === 'insert' && op.row.body) total += op.row.body.length;
  const bodies = new ArrayBuffer(total);
  const bytes = new Uint8Array(bodies);
  const flat: (string | number | null)[] = [];
  let offset = 0;
  for (const op of ops) {
    if (op.kind === 'insert') {
      const r = op.row;
      const length = r.body ? r.body.length : -1;
      if (r.body) bytes.set(r.body, offset);
      offset += Math.max(length, 0);
      flat.push(INSERT, r.id, r.flowId, r.nodeId, r.direction, r.endpoint, r.controlId, r.messageType, r.sender, r.receiver, r.patientKey, r.status, r.contentType, r.parentId, r.attempts, r.errorCode, r.errorText, r.receivedAt, r.updatedAt, r.size, r.keyId, length);
    } else {
      const p = op.patch;
      flat.push(UPDATE, op.id, op.at, p.status ?? null, p.errorCode === undefined ? 0 : 1, p.errorCode ?? null, p.errorText === undefined ? 0 : 1, p.errorText ?? null, p.incrementAttempts ? 1 : 0);
    }
  }
  return { flat, bodies };
}

export function unpackOps({ flat, bodies }: PackedOps): WriteOp[] {
  const ops: WriteOp[] = [];
  let offset = 0;
  let i = 0;
  const next = (): string | number | null => flat[i++] as string | number | null;
  while (i < flat.length) {
    if (next() === INSERT) {
      const row = {
        id: next(), flowId: next(), nodeId: next(), direction: next(), endpoint: next(), controlId: next(), messageType: next(),
        sender: next(), receiver: next(), patientKey: next(), status: next(), contentType: next(), parentId: next(), attempts: next(),
        errorCode: next(), errorText: next(), receivedAt: next(), updatedAt: next(), size: next(), keyId: next(),
      } as MessageRow;
      const length = next() as number;
      if (length >= 0) {
        row.body = Buffer.from(bodies, offset, length);
        offset += length;
      }
      ops.push({ kind: 'insert', row });
    } else {
      const id = next() as string;
      const at = next() as number;
      const status = next();
      const patch: StatusPatch = {};
      if (status !== null) patch.status = status as StatusPatch['status'];
      const hasCode = next();
      const errorCode = next() as string | null;
      if (hasCode) patch.errorCode = errorCode;
      const hasText = next();
      const errorText = next() as string | null;
      if (hasText) patch.errorText = errorText;
      if (next()) patch.incrementAttempts = true;
      ops.push({ kind: 'update', id, patch, at });
    }
  }
  return ops;
}
