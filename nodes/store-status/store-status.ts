import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode, HUB_ERROR_CODES } from '../../adapters/shared/errors';
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
      const err = msg.error as { message?: unknown; code?: unknown; source?: { type?: unknown } } | undefined;
      // Only the hub's own errors have texts that name identifiers and never
      // content; any other error text (a JSON parser's, say) may quote PHI, so
      // it is replaced by the type of node that raised it.
      const hubError = typeof err?.code === 'string' && HUB_ERROR_CODES.includes(err.code as never);
      const errorText = hubError && typeof err?.message === 'string' ? err.message : `error raised by a ${typeof err?.source?.type === 'string' ? err.source.type : 'flow'} node`;
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
          errorCode: status === 'error' ? (hubError ? (err!.code as string) : 'FLOW_ERROR') : null,
          errorText: status === 'error' ? errorText : null,
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
