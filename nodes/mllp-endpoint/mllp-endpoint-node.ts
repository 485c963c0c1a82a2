import type { Node } from 'node-red';
import type { Hl7Sender } from '../../adapters/hl7-send';

/**
 * What an `mllp-endpoint` config node offers the nodes that use it
 * (mllp-out). They look it up with `RED.nodes.getNode(def.endpoint)`.
 */
export interface MllpEndpointNode extends Node {
  /** Undefined when the configuration is invalid (the node logged why). */
  sender: Hl7Sender | undefined;
  /** Endpoint name for the message store: the config node's name, else `host:port`. */
  storeName: string;
  /**
   * Start using the endpoint: the first user opens the connections, and
   * every user gets the connection status pushed to it from now on.
   * @param user - the node that uses the endpoint
   */
  register(user: Node): void;
  /**
   * Stop using the endpoint. The connections stay open until the config
   * node itself closes (a redeploy closes both).
   * @param user - the node that used the endpoint
   * @param removed - whether the user was deleted rather than redeployed
   */
  deregister(user: Node, removed: boolean): Promise<void>;
}
