import { Duplex } from 'node:stream';

class MemoryDuplex extends Duplex {
  peer: MemoryDuplex | undefined;

  override _read(): void {
    // Data is pushed by the peer's writes.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) {
      callback(new Error('peer is gone'));
      return;
    }
    peer.push(Buffer.from(chunk));
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // A dropped line: the other end sees its stream close too.
    if (peer && !peer.destroyed) peer.destroy();
    callback(error);
  }
}

/**
 * Two connected in-memory byte streams: what one writes, the other reads.
 * Destroying either end closes both, like a dropped connection. For tests
 * of AstmConnection without sockets (and a reference transport: the
 * connection is transport-agnostic).
 */
export function duplexPair(): [Duplex, Duplex] {
  const a = new MemoryDuplex();
  const b = new MemoryDuplex();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
