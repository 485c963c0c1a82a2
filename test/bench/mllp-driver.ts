import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { frame, MllpDecoder } from '../../adapters/mllp';
import { percentile } from './percentile';

export interface DriveOptions {
  port: number;
  connections: number;
  messages: number;
  /** Messages per second across all connections; undefined = as fast as ACKs come back. */
  rate?: number;
  /** Builds message n; its MSH-10 must be `controlId(n)`. */
  message: (n: number) => string;
  controlId: (n: number) => string;
}

export interface DriveResult {
  messages: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  accepted: number;
  rejected: number;
  mismatched: number;
}

/**
 * One message in flight per connection, as an LIS or EMR interface does: send,
 * wait for the ACK, check MSA-1 and that MSA-2 is the sent MSH-10, send the next.
 *
 * Every frame is built before the clock starts. The driver shares the
 * machine's two cores with the peer it measures, so building 1 KB messages
 * while timing would take CPU from the peer, and take more from a peer that
 * needs more CPU per message.
 */
export async function drive(o: DriveOptions): Promise<DriveResult> {
  const latencies: number[] = [];
  let next = 0;
  let accepted = 0;
  let rejected = 0;
  let mismatched = 0;
  const frames = Array.from({ length: o.messages }, (_, n) => frame(o.message(n)));
  const controlIds = Array.from({ length: o.messages }, (_, n) => o.controlId(n));
  const start = performance.now();

  const runConnection = async (): Promise<void> => {
    const socket: Socket = await new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: o.port }, () => resolve(s));
      s.once('error', reject);
    });
    socket.setNoDelay(true);
    let waiting: { resolve: (ack: Buffer) => void; reject: (err: Error) => void } | null = null;
    const decoder = new MllpDecoder({ frame: (ack) => waiting?.resolve(ack) });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('close', () => waiting?.reject(new Error('connection closed')));
    try {
      while (next < o.messages) {
        const n = next++;
        if (o.rate) {
          const due = start + (n * 1000) / o.rate;
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        }
        const t0 = performance.now();
        const ack = await new Promise<Buffer>((resolve, reject) => {
          waiting = { resolve, reject };
          socket.write(frames[n]!);
        });
        waiting = null;
        latencies.push(performance.now() - t0);
        const msa = /(?:^|\r)MSA\|([^|\r]*)\|([^|\r]*)/.exec(ack.toString('latin1'));
        if (!msa || msa[2] !== controlIds[n]) mismatched++;
        else if (msa[1] === 'AA' || msa[1] === 'CA') accepted++;
        else rejected++;
      }
    } finally {
      socket.destroy();
    }
  };

  await Promise.all(Array.from({ length: o.connections }, runConnection));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { messages: latencies.length, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(latencies.length / seconds), p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), accepted, rejected, mismatched };
}
