import type { SftpUploader } from '../sftp';
import type { X12Delivery, X12DeliveryReceipt } from './delivery';

/** Drops interchanges into the clearinghouse's SFTP inbox (see `Ssh2SftpUploader` for atomicity and retries). */
export class SftpX12Delivery implements X12Delivery {
  /** @param uploader - usually an `Ssh2SftpUploader`; owned by this delivery and closed with it */
  constructor(private readonly uploader: SftpUploader) {}

  async deliver(fileName: string, x12: string | Buffer): Promise<X12DeliveryReceipt> {
    const r = await this.uploader.upload(fileName, x12);
    return { transport: 'sftp', target: r.remotePath, bytes: r.bytes, attempts: r.attempts, alreadyPresent: r.alreadyPresent };
  }

  close(): Promise<void> {
    return this.uploader.close();
  }
}
