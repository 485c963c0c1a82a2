import { EventEmitter } from 'node:events';
import { hangupAwareBinding, hangupAwareRead } from './serial-hangup-binding';
import type { FsRead, PollablePort } from './serial-hangup-binding';

function port(): PollablePort & { poller: EventEmitter } {
  return { fd: 7, isOpen: true, poller: new EventEmitter(), read: async () => ({ bytesRead: 0, buffer: Buffer.alloc(0) }) };
}

function reads(...steps: (number | string)[]): FsRead & { calls: number } {
  const fn = (async (_fd: number, buffer: Buffer) => {
    fn.calls++;
    const step = steps.shift();
    if (typeof step === 'string') throw Object.assign(new Error(step), { code: step });
    if (step === undefined) throw new Error('read called more often than the test allows');
    buffer.write('x'.repeat(step));
    return { bytesRead: step, buffer };
  }) as unknown as FsRead & { calls: number };
  fn.calls = 0;
  return fn;
}

describe('hang-up aware serial read', () => {
  test('data is returned as read', async () => {
    const fsRead = reads(5);
    await expect(hangupAwareRead(port(), fsRead)(Buffer.alloc(16), 0, 16)).resolves.toMatchObject({ bytesRead: 5 });
  });

  test('a 0-byte read (the device hung up) is a disconnect error, not another read', async () => {
    const fsRead = reads(0, 0, 0);
    await expect(hangupAwareRead(port(), fsRead)(Buffer.alloc(16), 0, 16)).rejects.toMatchObject({ code: 'ENXIO', disconnect: true });
    expect(fsRead.calls).toBe(1);
  });

  test('EAGAIN waits for the poller, then reads again', async () => {
    const p = port();
    const fsRead = reads('EAGAIN', 3);
    const reading = hangupAwareRead(p, fsRead)(Buffer.alloc(16), 0, 16);
    await new Promise((r) => setImmediate(r));
    expect(fsRead.calls).toBe(1);
    p.poller.emit('readable', null);
    await expect(reading).resolves.toMatchObject({ bytesRead: 3 });
  });

  test('EIO and EBADF are disconnects; other errors pass through unmarked', async () => {
    await expect(hangupAwareRead(port(), reads('EIO'))(Buffer.alloc(4), 0, 4)).rejects.toMatchObject({ code: 'EIO', disconnect: true });
    await expect(hangupAwareRead(port(), reads('EBADF'))(Buffer.alloc(4), 0, 4)).rejects.toMatchObject({ code: 'EBADF', disconnect: true });
    const other = await hangupAwareRead(port(), reads('EINVAL'))(Buffer.alloc(4), 0, 4).catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'EINVAL' });
    expect((other as { disconnect?: boolean }).disconnect).toBeUndefined();
  });

  test('a closed port is a canceled read', async () => {
    const p = { ...port(), isOpen: false };
    await expect(hangupAwareRead(p, reads(1))(Buffer.alloc(4), 0, 4)).rejects.toMatchObject({ canceled: true });
  });

  test('EAGAIN from a read that was in flight when the port closed: canceled, and the destroyed poller is never re-armed', async () => {
    // bindings-cpp's close stops and destroys the poller; polling it again touches a freed native handle.
    const p: PollablePort & { poller: EventEmitter; isOpen: boolean; fd: number | null } = { ...port() };
    const armed: string[] = [];
    const poller = p.poller;
    p.poller = Object.assign(poller, { once: (event: string) => (armed.push(event), poller) });
    let finishRead!: () => void;
    const fsRead = (async () => {
      await new Promise<void>((resolve) => (finishRead = resolve));
      throw Object.assign(new Error('EAGAIN'), { code: 'EAGAIN' });
    }) as unknown as FsRead;
    const reading = hangupAwareRead(p, fsRead)(Buffer.alloc(4), 0, 4);
    await new Promise((r) => setImmediate(r));
    p.isOpen = false;
    p.fd = null;
    finishRead();
    await expect(reading).rejects.toMatchObject({ canceled: true });
    expect(armed).toEqual([]);
  });

  test('the binding replaces the opened port\'s read (on Linux) and keeps everything else', async () => {
    const opened = port();
    const base = { open: async () => opened, list: async () => [] };
    const binding = hangupAwareBinding(base);
    expect(binding.list).toBe(base.list);
    const p = await binding.open({ path: '/dev/ttyS0' });
    expect(p).toBe(opened);
    if (process.platform === 'linux') expect(p.read).not.toBe(port().read);
  });
});
