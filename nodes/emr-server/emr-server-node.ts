import type { Node } from 'node-red';
import type { EmrEventReceiver, FhirClient } from '../../adapters/emr';

/** Why a part of a config node cannot be used: nothing entered yet, or something unusable. */
export type ConfigProblem = 'not-configured' | 'invalid';

/**
 * What an `emr-server` config node offers emr-out and emr-in. They look it
 * up with `RED.nodes.getNode(def.server)`.
 */
export interface EmrServerNode extends Node {
  /** The FHIR client; undefined with `fhirProblem` set when the base URL or auth is missing or invalid. */
  fhir: FhirClient | undefined;
  fhirProblem: ConfigProblem | undefined;
  /** The signed-event receiver; undefined with `receiverProblem` set when no webhook secret or token is configured. */
  receiver: EmrEventReceiver | undefined;
  receiverProblem: ConfigProblem | undefined;
  /** Endpoint name for the message store: the config node's name, else the FHIR host. */
  storeName: string;
  /** @param user - a node that uses this server */
  register(user: Node): void;
  /** @param user - a node that stops using it */
  deregister(user: Node): Promise<void>;
}
