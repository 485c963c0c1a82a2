/**
 * MLLP release 2 transport: framing, an inbound listener and an outbound
 * sender over TCP or TLS. Payloads stay Buffers here; HL7 parsing, MSH-18
 * charsets, ACK building and MSA-2/MSH-10 matching belong to the HL7 layer.
 */
export { CARRIAGE_RETURN, END_BLOCK, MAX_FRAME_BYTES, MllpDecoder, START_BLOCK, frame } from './mllp-framer';
export type { MllpDecoderHandlers, MllpDecoderOptions, MllpDecoderStats } from './mllp-framer';

export { CLOSE_TIMEOUT_MS, DEFAULT_HOST, MllpServer } from './mllp-server';
export type {
  MllpConnectionInfo,
  MllpDisconnectInfo,
  MllpServerDeps,
  MllpServerEvents,
  MllpServerFactoryOptions,
  MllpServerOptions,
  MllpServerTlsOptions,
} from './mllp-server';
export type { MllpConnectionContext, MllpDisconnectReason, MllpFrameHandler } from './mllp-server-connection';

export { CLIENT_CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, MllpClient, SEND_TIMEOUT_MS } from './mllp-client';
export type { MllpClientDeps, MllpClientEvents, MllpClientOptions, MllpClientTlsOptions, MllpConnectOptions } from './mllp-client';
export type { BackoffOptions } from './backoff';

export {
  MllpClosedError,
  MllpConfigError,
  MllpConnectError,
  MllpFrameError,
  MllpHandlerError,
  MllpListenError,
  MllpPeerRejectedError,
  MllpTimeoutError,
} from './errors';
export type { MllpFrameErrorKind, MllpRejectReason } from './errors';
