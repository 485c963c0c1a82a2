import type { Node } from 'node-red';
import type { SftpLoginOptions } from '../../adapters/sftp';
import type { X12Delivery } from '../../adapters/x12';
import type { ConfigProblem } from '../emr-server/emr-server-node';

/** What a `clearinghouse` config node offers x12-deliver. */
export interface ClearinghouseNode extends Node {
  /** Undefined, with `problem` set, until the transport's settings and secrets are complete and valid. */
  delivery: X12Delivery | undefined;
  problem: ConfigProblem | undefined;
  transport: 'sftp' | 'https';
  /** The SFTP login (sftp transport, settings complete): what a clearinghouse-in node polls with. */
  sftpLogin: SftpLoginOptions | undefined;
  /** Endpoint name for the message store: the config node's name, else the host. */
  storeName: string;
  register(user: Node): void;
  deregister(user: Node): Promise<void>;
}
