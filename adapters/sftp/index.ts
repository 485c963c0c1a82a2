/**
 * SFTP delivery: whole-file uploads (temp name, then rename) with retry on
 * dropped connections and typed errors; and pick-up of the files a
 * clearinghouse leaves (moved away only once consumed). Plain TypeScript; never imports node-red.
 */
export { Ssh2SftpUploader, hostKeyVerifier } from './sftp-uploader';
export type { SftpLoginOptions, SftpSession, SftpUploader, SftpUploaderDeps, SftpUploaderOptions, SftpUploadReceipt } from './sftp-uploader';
export { Ssh2SftpPoller } from './sftp-poller';
export type { PickedFile, PollResult, SftpPollerDeps, SftpPollerOptions, SftpPollSession } from './sftp-poller';
export { SftpAuthError, SftpConnectionError, SftpRemoteError, SftpTimeoutError } from './errors';
export type { SftpError } from './errors';
export { classifySftpError } from './classify';
