/**
 * SFTP delivery: whole-file uploads (temp name, then rename) with retry on
 * dropped connections and typed errors. Plain TypeScript; never imports node-red.
 */
export { Ssh2SftpUploader, hostKeyVerifier } from './sftp-uploader';
export type { SftpSession, SftpUploader, SftpUploaderDeps, SftpUploaderOptions, SftpUploadReceipt } from './sftp-uploader';
export { SftpAuthError, SftpConnectionError, SftpRemoteError, SftpTimeoutError } from './errors';
export type { SftpError } from './errors';
export { classifySftpError } from './classify';
