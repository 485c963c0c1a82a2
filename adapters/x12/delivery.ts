/**
 * Delivery of a built interchange to a clearinghouse. Implementations:
 * `SftpX12Delivery` (file drop) and `HttpsX12Delivery` (HTTP POST). The
 * x12-deliver node talks to this interface only.
 */
export interface X12DeliveryReceipt {
  transport: 'sftp' | 'https';
  /** Remote path (SFTP) or URL path (HTTPS). */
  target: string;
  bytes: number;
  attempts: number;
  /** HTTPS: the status of the accepting answer. */
  status?: number;
  /** HTTPS: the clearinghouse's request or submission ID (header), if any. */
  providerRequestId?: string;
  /**
   * HTTPS: the response body, which some clearinghouses use for an immediate
   * TA1/999. May echo claim data: hand it to `parseX12`, do not log it.
   */
  responseBody?: string;
  /** SFTP: a retry found the file already delivered. */
  alreadyPresent?: boolean;
}

export interface X12Delivery {
  /**
   * Deliver one interchange.
   * @param fileName - unique per interchange (see `submissionFileName`)
   * @param x12 - the interchange text
   */
  deliver(fileName: string, x12: string | Buffer): Promise<X12DeliveryReceipt>;
  close(): Promise<void>;
}
