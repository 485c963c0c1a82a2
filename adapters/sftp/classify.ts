import { IntegrationError } from '../shared/errors';
import { SftpAuthError, SftpConnectionError, SftpRemoteError } from './errors';

/**
 * Map what ssh2 / ssh2-sftp-client throw onto typed errors. ssh2-sftp-client
 * re-wraps ssh2's errors and loses `level`, so authentication failures are
 * recognised by ssh2's fixed texts ("All configured authentication methods
 * failed", "Host denied"); SFTP status codes (draft-ietf-secsh-filexfer-02
 * §7: 2 NO_SUCH_FILE, 3 PERMISSION_DENIED) by `code`.
 * @param err - what the library threw
 * @param phase - what we were doing (connect, put, rename…), for the message
 * @param peer - host:port, for the message
 * @param attempts - attempts so far
 */
export function classifySftpError(err: unknown, phase: string, peer: string, attempts: number): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = err as { message?: unknown; code?: unknown; level?: unknown };
  const text = typeof e?.message === 'string' ? e.message : '';
  const code = e?.code;
  if (e?.level === 'client-authentication' || /authentication methods failed|Authentication failure|permission denied \(publickey/i.test(text)) {
    return new SftpAuthError(`SFTP login refused by ${peer}`, 'login', { cause: err });
  }
  if (/Host denied|host key|verification failed/i.test(text)) {
    return new SftpAuthError(`SFTP host key of ${peer} does not match the pinned key`, 'host-key', { cause: err });
  }
  if (code === 2 || code === 'ENOENT' || /No such file/i.test(text)) {
    return new SftpRemoteError(`SFTP ${phase} on ${peer}: no such file or directory`, 'not-found', { cause: err });
  }
  if (code === 3 || code === 'EACCES' || /Permission denied/i.test(text)) {
    return new SftpRemoteError(`SFTP ${phase} on ${peer}: permission denied`, 'permission', { cause: err });
  }
  return new SftpConnectionError(`SFTP ${phase} on ${peer} failed: connection lost or refused`, attempts, { cause: err });
}
