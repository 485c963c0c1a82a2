import type { Node, NodeDef } from 'node-red';
import type { AckCode, AckError } from '../../adapters/hl7';
import type { AckMode, IntakeConsumer, RespondOutcome } from '../../adapters/hl7-intake';

export interface MllpListenerDef extends NodeDef {
  host: string;
  /** A string so flows can say `${HUB_MLLP_PORT}`. */
  port: string;
  /** Store endpoint name; default the node name, else `mllp-<port>`. */
  endpoint: string;
  tls: boolean;
  keyFile: string;
  certFile: string;
  caFile: string;
  requireClientCert: boolean;
  /** IPs or CIDR ranges, separated by commas or white space; empty accepts any peer. */
  allowedPeers: string;
  charset: string;
  maxFrameBytes: string | number;
  idleTimeoutMs: string | number;
  maxConnections: string | number;
  ackMode: AckMode;
  processingTimeoutMs: string | number;
  duplicateWindowMs: string | number;
  /** Honour MSH-15/16; default true. */
  enhancedAcks: boolean;
}

export interface MllpListenerCredentials {
  key?: string;
  cert?: string;
  ca?: string;
}

/** One open connection, for the monitor. Identity only, never traffic. */
export interface MllpPeer {
  connectionId: number;
  remoteAddress: string;
  remotePort: number;
  connectedAt: Date;
}

/** The face mllp-in and hl7-ack nodes (and a future monitor) see. */
export interface MllpListenerNode extends Node<MllpListenerCredentials> {
  readonly ackMode: AckMode;
  /**
   * Start receiving: the first registration starts listening.
   * @param user - the mllp-in node; gets connection status
   * @param consumer - receives every accepted message
   */
  register(user: Node, consumer: IntakeConsumer): void;
  /** The last deregistration stops listening. */
  deregister(user: Node): Promise<void>;
  /**
   * Answer a message in manual mode (hl7-ack).
   * @param id - hub message id from msg._hl7ack
   */
  respond(id: string, code: AckCode, errors?: readonly AckError[]): RespondOutcome;
  /** Open connections (including TLS handshakes in progress). */
  connectionCount(): number;
  peers(): MllpPeer[];
  /** The bound port once listening (port 0 picks one), for tests and the monitor. */
  boundPort(): number | undefined;
  /** Resolves once listening, or with the listen error. */
  whenListening(): Promise<void>;
}

/** msg._hl7ack: what hl7-ack needs to answer a message (which listener, which stored message). Opaque to flows. */
export interface Hl7AckHandle {
  listener: string;
  id: string;
}
