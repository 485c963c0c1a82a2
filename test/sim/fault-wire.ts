import { Duplex } from 'node:stream';
import { ACK, ENQ, EOT, ETB, ETX, STX, frameChecksum, systemTimers } from '../../adapters/astm';
import type { Timers } from '../../adapters/astm';
import type { Fault } from './faults';

/** What the wire did, for reports and assertions. */
export interface WireLog {
  /** Every byte the analyzer put on the line, after tampering, in order. */
  written: Buffer[];
  /** Faults that fired, in order. */
  fired: string[];
}

export interface FaultWireHooks {
  /**
   * Contention: the host just sent ENQ. Start the analyzer's own
   * transmission now; the host's ENQ is held back until the analyzer's ENQ
   * has gone out, so both cross on the line. Return false when there is
   * nothing to send (the ENQ is then delivered normally).
   */
  startTransmission?: () => boolean;
}

interface Armed extends Fault {
  remaining: number;
}

/**
 * A byte-level fault injector between the simulated analyzer's E1381 link
 * and the socket. The link writes one frame or one control character per
 * write, so frames are seen whole; replies come back as single bytes.
 */
export class FaultWire extends Duplex {
  readonly log: WireLog = { written: [], fired: [] };
  private armed: Armed[] = [];
  private totalFrames = 0;
  private frameIndex = 0;
  private lastFrame: Buffer | undefined;
  private replyFor = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private heldIncoming: Buffer[] | undefined;

  /**
   * @param socket - the real connection
   * @param hooks - callbacks into the simulator (contention)
   * @param timers - for the late-EOT delay
   */
  constructor(
    private readonly socket: Duplex,
    private readonly hooks: FaultWireHooks = {},
    private readonly timers: Timers = systemTimers,
  ) {
    super();
    socket.on('data', (chunk: Buffer) => this.incoming(chunk));
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
    socket.on('error', (err) => this.destroy(err));
  }

  /**
   * Faults for the next session (a playback attempt). Replaces what was armed.
   *
   * @param faults - the faults
   * @param totalFrames - frames the session will send (resolves `last` and the default frame)
   */
  arm(faults: readonly Fault[], totalFrames: number): void {
    this.totalFrames = totalFrames;
    this.armed = faults.map((f) => ({ ...f, remaining: f.times ?? 1 }));
  }

  /** Faults still waiting to fire. */
  get pending(): number {
    return this.armed.filter((f) => f.remaining > 0 && f.kind !== 'oversize-frame').length;
  }

  private target(f: Fault): number {
    if (f.frame === 'last') return this.totalFrames;
    return Math.min(f.frame ?? 2, Math.max(1, this.totalFrames));
  }

  private fire(kind: Fault['kind'], frame?: number): Armed | undefined {
    const f = this.armed.find((a) => a.kind === kind && a.remaining > 0 && (frame === undefined || this.target(a) === frame));
    if (f) {
      f.remaining--;
      this.log.fired.push(frame === undefined ? kind : `${kind}@${frame}`);
    }
    return f;
  }

  /** Settles once every write so far is on the socket (a late EOT included). */
  flushed(): Promise<void> {
    return this.writeChain;
  }

  override _read(): void {
    // Pushed from the socket.
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, callback: (error?: Error | null) => void): void {
    const bytes = Buffer.from(chunk);
    this.writeChain = this.writeChain.then(() => this.outgoing(bytes)).catch(() => undefined);
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.writeChain.then(() => {
      this.socket.end();
      callback();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.socket.destroyed) this.socket.destroy();
    callback(error);
  }

  private send(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    this.log.written.push(bytes);
    this.socket.write(bytes);
  }

  private async outgoing(bytes: Buffer): Promise<void> {
    if (bytes.length === 1 && bytes[0] === ENQ) {
      this.frameIndex = 0;
      this.lastFrame = undefined;
      this.replyFor = 0;
      this.send(bytes);
      this.releaseHeld();
      return;
    }
    if (bytes.length === 1 && bytes[0] === EOT) {
      const late = this.fire('late-eot');
      if (late) await new Promise<void>((r) => this.timers.setTimeout(r, late.delayMs ?? 35_000));
      this.send(bytes);
      return;
    }
    if (bytes[0] !== STX) {
      this.send(bytes);
      return;
    }
    if (!this.lastFrame || !this.lastFrame.equals(bytes)) this.frameIndex++;
    this.lastFrame = bytes;
    const n = this.frameIndex;
    this.replyFor = n;
    let out = bytes;
    if (this.fire('bad-checksum', n)) out = corruptChecksum(bytes);
    else if (this.fire('wrong-frame-number', n)) out = renumber(bytes);
    if (this.fire('disconnect', n)) {
      this.log.written.push(out);
      this.socket.write(out, () => this.socket.destroy());
      return;
    }
    this.send(out);
  }

  private incoming(chunk: Buffer): void {
    let data = chunk;
    if (this.heldIncoming) {
      this.heldIncoming.push(data);
      return;
    }
    const ack = data.indexOf(ACK);
    if (ack >= 0 && this.replyFor > 0 && this.fire('drop-ack', this.replyFor)) {
      data = Buffer.concat([data.subarray(0, ack), data.subarray(ack + 1)]);
      this.replyFor = 0;
    }
    const enq = data.indexOf(ENQ);
    if (enq >= 0 && this.armed.some((a) => a.kind === 'contention' && a.remaining > 0) && this.hooks.startTransmission) {
      if (this.hooks.startTransmission()) {
        this.fire('contention');
        if (enq > 0) this.push(data.subarray(0, enq));
        this.heldIncoming = [data.subarray(enq)];
        return;
      }
    }
    if (data.length > 0) this.push(data);
  }

  private releaseHeld(): void {
    const held = this.heldIncoming;
    if (!held) return;
    this.heldIncoming = undefined;
    // After our ENQ is on the line: the host's ENQ arrives while ours waits for a reply.
    setImmediate(() => {
      for (const b of held) this.incoming(b);
    });
  }
}

/** Flip the checksum so it no longer matches. */
function corruptChecksum(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  const end = findEnd(out);
  out[end + 2] = out[end + 2] === 0x30 ? 0x31 : 0x30;
  return out;
}

/** Give the frame the next frame number, with a correct checksum: only the number is wrong. */
function renumber(frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  const end = findEnd(out);
  out[1] = 0x30 + (((out[1]! - 0x30 + 1) & 7) >>> 0);
  out.write(frameChecksum(out, 1, end), end + 1, 'latin1');
  return out;
}

function findEnd(frame: Buffer): number {
  for (let i = 1; i < frame.length; i++) if (frame[i] === ETX || frame[i] === ETB) return i;
  throw new RangeError('not a frame');
}
