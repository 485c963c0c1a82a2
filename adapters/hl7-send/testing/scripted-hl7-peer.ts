import { EventEmitter } from 'node:events';
import { buildAck, get, parse, serialize, type AckCode, type AckError, type Hl7Message } from '../../hl7';
import { MllpServer, type MllpServerTlsOptions } from '../../mllp';

/**
 * A scriptable HL7 receiver on loopback for tests of the sender and the
 * mllp-out node: it records every message and answers each one with what
 * the test scripted (an AA by default), which may be held back, wrong, or
 * nothing at all. Test support only; no production code imports it.
 */

export interface ReceivedHl7 {
  /** 0-based arrival order over all connections. */
  index: number;
  connectionId: number;
  controlId: string;
  /** The frame's payload as received. */
  bytes: Buffer;
  /** The payload read as UTF-8. */
  text: string;
  message: Hl7Message;
}

/** How the peer answers one message; undefined sends nothing. */
export type PeerReply = (received: ReceivedHl7) => Promise<string | Buffer | undefined> | string | Buffer | undefined;

export interface PeerAckOptions {
  /** MSA-2 to write instead of the message's MSH-10 (a mismatched ACK). */
  acknowledgedId?: string;
  errors?: AckError[];
  /** MSA-3. */
  text?: string;
}

/**
 * An ACK for a received message, as HL7 text.
 *
 * @param received - the message to acknowledge
 * @param code - AA, AE or AR (or, via a cast, anything to test bad codes)
 * @param options - a different MSA-2, ERR segments, MSA-3
 */
export function ackFor(received: ReceivedHl7, code: AckCode, options: PeerAckOptions = {}): string {
  const ack = buildAck(received.message, code, {
    controlId: `ACK-${received.controlId}`,
    now: new Date(Date.UTC(2026, 0, 1)),
    ...(options.errors ? { errors: options.errors } : {}),
    ...(options.text !== undefined ? { text: options.text } : {}),
  });
  if (options.acknowledgedId !== undefined) {
    const msa = ack.segments.find((s) => s.fields[0] === 'MSA');
    if (msa) msa.fields[2] = options.acknowledgedId;
  }
  return serialize(ack);
}

/** A promise with its resolver, for holding a reply until the test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export class ScriptedHl7Peer extends EventEmitter<{ message: [ReceivedHl7] }> {
  readonly received: ReceivedHl7[] = [];
  /** Replies used once each, in order, before `reply`. */
  private readonly scripted: PeerReply[] = [];
  /** The answer once the script has run out. */
  reply: PeerReply = (m) => ackFor(m, 'AA');
  /** Connections accepted so far. */
  connectionsAccepted = 0;

  private readonly acceptWaiters: Array<{ count: number; resolve: () => void }> = [];

  private constructor(private readonly server: MllpServer) {
    super();
    server.on('connection', () => {
      this.connectionsAccepted += 1;
      for (const w of [...this.acceptWaiters]) {
        if (this.connectionsAccepted >= w.count) {
          this.acceptWaiters.splice(this.acceptWaiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  /**
   * Resolves once `count` connections have been accepted in total (the
   * client may see its connect before the server has handled the accept).
   *
   * @param count - total connections accepted
   */
  accepted(count: number): Promise<void> {
    if (this.connectionsAccepted >= count) return Promise.resolve();
    return new Promise((resolve) => this.acceptWaiters.push({ count, resolve }));
  }

  /**
   * Listen on 127.0.0.1, port 0.
   *
   * @param options - TLS settings for a TLS listener
   */
  static async start(options: { tls?: MllpServerTlsOptions } = {}): Promise<ScriptedHl7Peer> {
    let peer: ScriptedHl7Peer | undefined;
    const server = new MllpServer(
      { port: 0, closeTimeoutMs: 500, ...(options.tls ? { tls: options.tls } : {}) },
      (payload, ctx) => (peer as ScriptedHl7Peer).handle(payload, ctx.connectionId),
    );
    peer = new ScriptedHl7Peer(server);
    await server.listen();
    return peer;
  }

  get port(): number {
    const port = this.server.port;
    if (port === undefined) throw new Error('peer is not listening');
    return port;
  }

  /** Open connections right now. */
  get connections(): number {
    return this.server.connections;
  }

  /**
   * Queue one-off replies for the next messages, in order.
   *
   * @param replies - one per message
   */
  script(...replies: PeerReply[]): void {
    this.scripted.push(...replies);
  }

  /**
   * Resolves with the message received at `index` (0-based), now or when it arrives.
   *
   * @param index - arrival position over all connections
   */
  message(index: number): Promise<ReceivedHl7> {
    const seen = this.received[index];
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const listener = (m: ReceivedHl7): void => {
        if (m.index !== index) return;
        this.off('message', listener);
        resolve(m);
      };
      this.on('message', listener);
    });
  }

  close(): Promise<void> {
    return this.server.close();
  }

  /** The MllpServer, for tests that watch its events. */
  get mllp(): MllpServer {
    return this.server;
  }

  private async handle(payload: Buffer, connectionId: number): Promise<string | Buffer | undefined> {
    const text = payload.toString('utf8');
    const message = parse(text, { allowUnterminated: true });
    const received: ReceivedHl7 = { index: this.received.length, connectionId, controlId: get(message, 'MSH-10') ?? '', bytes: payload, text, message };
    this.received.push(received);
    this.emit('message', received);
    const reply = this.scripted.shift() ?? this.reply;
    return reply(received);
  }
}
