import type { Node, NodeAPI, NodeMessage } from 'node-red';
import { errorCode, IntegrationError } from '../../adapters/shared/errors';
import { FollowedInbound } from '../../adapters/shared/followed-inbound';
import type { StoredRecord } from '../../adapters/shared/followed-inbound';
import type { ReprocessRegistry } from '../../adapters/shared/reprocess-registry';
import type { MessageStore } from '../../adapters/store';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { MsgFollower } from './msg-follower';

export interface FollowedSourceOptions<T> {
  store: MessageStore;
  /** The endpoint its records are stored under. */
  endpoint: string;
  reprocessors: ReprocessRegistry | undefined;
  /** Reads a stored record back (a reprocess, a recovered leftover); throws when it cannot. */
  prepare(record: StoredRecord): T;
  /** The msg for a stored record. */
  toMsg(hubMessageId: string, prepared: T): NodeMessage & { _msgid: string };
  /** How the msg leaves the node (one output of several); `node.send(msg)` when unset. */
  send?: (msg: NodeMessage) => void;
  /** Locale key of the warning when a recovery pass fails (`__code__` is the error code). */
  recoverErrorKey: string;
  /** What an operator's reprocess is refused for, as a message (a record of another endpoint is always refused). */
  reprocessRefusal: string;
  /** How long the flow may take (see followTimeoutMs); FOLLOW_TIMEOUT_MS when unset. */
  timeoutMs?: number;
}

/**
 * A source node that stores what it receives, answers its sender, then
 * emits: its records settle on the flow (`processing` → `sent`/`error`),
 * an operator can reprocess them, and once a deploy has started what a
 * previous run left `processing` goes through the flow again (see
 * FollowedInbound). Call `close` from the node's close handler.
 */
export class FollowedSource<T> {
  private readonly intake: FollowedInbound<T>;
  private readonly follower: MsgFollower;
  private readonly unregister: () => void;
  private closed = false;

  constructor(RED: NodeAPI, node: Node, options: FollowedSourceOptions<T>) {
    const follower = new MsgFollower(RED);
    const send = options.send ?? ((msg: NodeMessage) => node.send(msg));
    this.follower = follower;
    this.intake = new FollowedInbound<T>({
      store: options.store,
      endpoint: options.endpoint,
      nodeId: node.id,
      logger: nodeLogger(node),
      prepare: options.prepare,
      deliver: (id, prepared, settle) => follower.send(options.toMsg(id, prepared), send, settle),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    const intake = this.intake;
    this.unregister =
      options.reprocessors?.register(node.id, async (record) => {
        if (record.direction !== 'inbound' || record.endpoint !== options.endpoint) throw new IntegrationError(options.reprocessRefusal, 'CONFIG', false);
        await intake.redeliver(record);
      }) ?? (() => undefined);
    // Once every node of the deploy runs: a msg sent earlier could meet a node not yet started.
    RED.events.once('flows:started', () => {
      if (this.closed) return;
      intake.recoverInterrupted().catch((err: unknown) => node.warn(RED._(options.recoverErrorKey, { code: errorCode(err) })));
    });
  }

  /** A record just stored `processing` goes into the flow. */
  send(hubMessageId: string, prepared: T): void {
    this.intake.send(hubMessageId, prepared);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unregister();
    await this.intake.close();
    this.follower.close();
  }
}
