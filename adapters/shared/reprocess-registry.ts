import type { MessageRecord } from '../store/types';

/** A stored inbound message, with its body as received, handed back to the node that received it. */
export type Reprocessor = (record: MessageRecord & { body: Buffer }) => Promise<void>;

/**
 * Who can run a stored inbound message through its flow again: each
 * receiving node registers under its node id (the id its records carry)
 * while it runs. The REST API looks the record's node up here, so an
 * operator can reprocess a message that failed in the flow once the flow is
 * fixed, as in Mirth's "reprocess messages", without the sender resending.
 */
export class ReprocessRegistry {
  private readonly handlers = new Map<string, Reprocessor>();

  register(nodeId: string, handler: Reprocessor): () => void {
    this.handlers.set(nodeId, handler);
    return () => {
      if (this.handlers.get(nodeId) === handler) this.handlers.delete(nodeId);
    };
  }

  get(nodeId: string | null): Reprocessor | undefined {
    return nodeId ? this.handlers.get(nodeId) : undefined;
  }
}
