import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import type { MessageStatus } from '../../adapters/store';
import { MESSAGE_STATUSES } from '../../adapters/store';
import { stringProp } from '../shared/msg-fields';
import { setStatus } from '../shared/status';

interface StoreStatusDef extends NodeDef {
  status: MessageStatus | 'msg';
  countAttempt: boolean;
}

/**
 * Moves the stored record `msg.hubMessageId` along its lifecycle (sent,
 * filtered, error…). For `error`, the code and text come from `msg.error`
 * as a Catch node sets it; callers must keep PHI out of error texts.
 */
export = function init(RED: NodeAPI): void {
  function StoreStatus(this: Node, def: StoreStatusDef): void {
    RED.nodes.createNode(this, def);

    this.on('input', (msg: NodeMessage & Record<string, unknown>, send, done) => {
      const id = stringProp(msg, 'hubMessageId');
      if (!id) {
        done(new Error(RED._('store-status.errors.no-id')));
        return;
      }
      const status = (def.status === 'msg' ? stringProp(msg, 'status') : def.status) as MessageStatus | undefined;
      if (!status || !MESSAGE_STATUSES.includes(status)) {
        done(new Error(RED._('store-status.errors.bad-status')));
        return;
      }
      const err = msg.error as { message?: unknown; code?: unknown } | undefined;
      let store;
      try {
        store = getHubServices().store;
      } catch (e) {
        done(e as Error);
        return;
      }
      store
        .update(id, {
          status,
          errorCode: status === 'error' ? (typeof err?.code === 'string' ? err.code : 'FLOW_ERROR') : null,
          errorText: status === 'error' && typeof err?.message === 'string' ? err.message : null,
          incrementAttempts: def.countAttempt === true,
        })
        .then(
          () => {
            setStatus(this, status === 'error' ? 'error' : 'connected', status);
            send(msg);
            done();
          },
          (e: unknown) => {
            setStatus(this, 'error', RED._('store-status.status.error', { code: errorCode(e) }));
            done(e as Error);
          },
        );
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      setStatus(this, 'idle');
      done();
    });
  }
  RED.nodes.registerType('store-status', StoreStatus);
};
