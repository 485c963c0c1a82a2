import { read } from 'node:fs';
import { promisify } from 'node:util';

type ReadResult = { bytesRead: number; buffer: Buffer };
export type FsRead = (fd: number, buffer: Buffer, offset: number, length: number, position: number | null) => Promise<ReadResult>;

/** The part of a serialport port binding (bindings-cpp's LinuxPortBinding) the read needs. */
export interface PollablePort {
  readonly fd: number | null;
  readonly isOpen: boolean;
  poller?: { once(event: 'readable', listener: (err?: Error | null) => void): unknown };
  read(buffer: Buffer, offset: number, length: number): Promise<ReadResult>;
}

/** A serialport binding: `open` resolves to a port binding. */
export interface PortBinding {
  open(options: unknown): Promise<PollablePort>;
  [other: string]: unknown;
}

const readAsync = promisify(read) as unknown as FsRead;
const TRY_AGAIN = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);
const GONE = new Set(['EBADF', 'ENXIO', 'EIO', 'UNKNOWN']);

/**
 * A tty read as serialport 13's Linux binding does it (non-blocking fd, wait
 * for the poller on EAGAIN), except that a read returning 0 bytes is a
 * hang-up: the device (a USB adapter, a terminal server's pty) is gone. The
 * stock read retries a 0-byte read at once, so a hung-up port spins in a
 * promise loop, never reports the loss and grows the heap until the process
 * dies. Here it is an error marked `disconnect`, which serialport turns into
 * a close: the link reopens the port with backoff.
 * @param port - the open port binding
 * @param fsRead - the plain read (replaced in tests)
 */
export function hangupAwareRead(port: PollablePort, fsRead: FsRead = readAsync): (buffer: Buffer, offset: number, length: number) => Promise<ReadResult> {
  const notOpen = (): Error => Object.assign(new Error('Port is not open'), { canceled: true });
  return async (buffer, offset, length) => {
    for (;;) {
      if (!port.isOpen || port.fd === null) throw notOpen();
      try {
        const { bytesRead } = await fsRead(port.fd, buffer, offset, length, null);
        if (bytesRead === 0) throw Object.assign(new Error('serial device hung up (read returned end of file)'), { code: 'ENXIO' });
        return { bytesRead, buffer };
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { disconnect?: boolean };
        if (e.code && TRY_AGAIN.has(e.code)) {
          // The port may have closed while the read was on the thread pool.
          // Its poller is then stopped and destroyed (bindings-cpp releases
          // the native object to the GC), and re-arming it starts a uv_poll
          // on freed memory: a SIGSEGV once the GC has run. serialport's
          // own read makes the same check.
          if (!port.isOpen || port.fd === null) throw notOpen();
          await new Promise<void>((resolve, reject) => {
            if (!port.poller) return reject(new Error('No poller on bindings'));
            port.poller.once('readable', (pollErr) => (pollErr ? reject(pollErr) : resolve()));
          });
          continue;
        }
        if ((e.code && GONE.has(e.code)) || e.errno === -1) e.disconnect = true;
        throw e;
      }
    }
  };
}

/**
 * The platform binding with hang-up aware reads on Linux (elsewhere as it is).
 * @param base - serialport's detected binding (`SerialPort.binding`)
 */
export function hangupAwareBinding(base: PortBinding): PortBinding {
  if (process.platform !== 'linux') return base;
  return {
    ...base,
    async open(options: unknown) {
      const port = await base.open(options);
      port.read = hangupAwareRead(port);
      return port;
    },
  };
}
