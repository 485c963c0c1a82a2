import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SftpAuthError, Ssh2SftpPoller } from '../../adapters/sftp';
import type { PickedFile, SftpPollerOptions } from '../../adapters/sftp';
import { startSshd } from '../support/sshd';
import type { SshdHandle } from '../support/sshd';

/**
 * Pick-up of clearinghouse answers from a real OpenSSH server on loopback:
 * a file leaves the server only after the consumer stored it.
 */
describe('SFTP pick-up from a real sshd', () => {
  let sshd: SshdHandle;
  let inbox: string;
  let n = 0;

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(() => {
    inbox = join(sshd.dir, `outbox-${n++}`);
    mkdirSync(inbox);
  });

  function poller(overrides: Partial<SftpPollerOptions> = {}): Ssh2SftpPoller {
    return new Ssh2SftpPoller({ host: sshd.host, port: sshd.port, username: sshd.username, privateKey: sshd.userKey, hostKeySha256: sshd.hostKeySha256, remoteDir: inbox, minAgeMs: 0, ...overrides });
  }
  /** A file as the clearinghouse leaves it, `ageMs` old. */
  function drop(name: string, text: string, ageMs = 60_000): void {
    const path = join(inbox, name);
    writeFileSync(path, text);
    const t = new Date(Date.now() - ageMs);
    utimesSync(path, t, t);
  }

  test('takes matching files oldest first, archives each once consumed, and leaves hidden, young and other files', async () => {
    drop('R20261204.835', 'ISA*835-B~', 60_000);
    drop('A20261203.999', 'ISA*999-A~', 120_000);
    drop('.upload-in-progress.835', 'partial');
    drop('readme.txt', 'not an answer');
    drop('R20261205.835', 'ISA*835-C~', 0);
    const got: PickedFile[] = [];
    const result = await poller({ pattern: /\.(999|835)$/i, minAgeMs: 10_000 }).poll(async (f) => void got.push(f));
    expect(got.map((f) => [f.name, f.content.toString()])).toEqual([
      ['A20261203.999', 'ISA*999-A~'],
      ['R20261204.835', 'ISA*835-B~'],
    ]);
    expect(result).toEqual({ picked: 2, failed: 0, waiting: 1 });
    expect(readdirSync(inbox).sort()).toEqual(['.upload-in-progress.835', 'R20261205.835', 'archive', 'readme.txt']);
    expect(readdirSync(join(inbox, 'archive')).sort()).toEqual(['A20261203.999', 'R20261204.835']);
  });

  test('a consumer that fails leaves the file on the server for the next poll; nothing is lost', async () => {
    drop('A1.999', 'ISA*first~');
    drop('A2.999', 'ISA*second~');
    const p = poller();
    const result = await p.poll(async (f) => {
      if (f.name === 'A1.999') throw new Error('store down');
    });
    expect(result).toEqual({ picked: 1, failed: 1, waiting: 0 });
    expect(readdirSync(inbox).filter((f) => f !== 'archive')).toEqual(['A1.999']);
    const again: string[] = [];
    expect(await p.poll(async (f) => void again.push(f.name))).toMatchObject({ picked: 1 });
    expect(again).toEqual(['A1.999']);
  });

  test('a name archived before is archived beside it; without an archive directory the file is deleted', async () => {
    drop('A.999', 'ISA*one~');
    await poller().poll(async () => undefined);
    drop('A.999', 'ISA*two~');
    await poller().poll(async () => undefined);
    const archived = readdirSync(join(inbox, 'archive')).sort();
    expect(archived).toHaveLength(2);
    expect(archived.map((f) => readFileSync(join(inbox, 'archive', f), 'utf8')).sort()).toEqual(['ISA*one~', 'ISA*two~']);

    drop('B.999', 'ISA*three~');
    await poller({ archiveDir: null }).poll(async () => undefined);
    expect(existsSync(join(inbox, 'B.999'))).toBe(false);
  });

  test('a refused login is an SftpAuthError and nothing is touched', async () => {
    drop('A.999', 'ISA*x~');
    await expect(poller({ privateKey: sshd.strangerKey }).poll(async () => undefined)).rejects.toBeInstanceOf(SftpAuthError);
    expect(readdirSync(inbox)).toEqual(['A.999']);
  });
});
