import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import type { HubServices } from '../../adapters/shared/registry';
import type { Consumer, Escalation, MessageQueue, QueueMessage } from '../../adapters/queue';
import { CompletionTracker, isLegacyNode } from '../shared/completion-tracker';
import { decodePayload } from '../shared/queue-payload';
import { sharedMsgHooks } from '../shared/msg-hooks';
import type { FollowedMsgHandlers } from '../shared/msg-hooks';
import { setStatus } from '../shared/status';
import { flowFailure, flowTimeout } from './flow-failure';
import { missingSettings } from './required-settings';

interface QueueInDef extends NodeDef {
  queue: string;
  /** Flows handling messages at once; empty for the queue policy's `concurrency`. */
  concurrency: string;
  /** ms the flow has to complete a message; empty for {@link DEFAULT_TIMEOUT_MS}. */
  timeout: string;
  /** ms a redeploy waits for messages in the flow before handing them back; empty for {@link DEFAULT_DRAIN_MS}. */
  drain: string;
  /**
   * Settings the destination needs (environment variable names, comma or
   * space separated). While one is unset the node takes nothing from the
   * queue: messages wait there, shown as waiting for configuration, and drain
   * once the hub runs with them set.
   */
  requires?: string;
}

type Msg = NodeMessage & Record<string, unknown>;

const DEFAULT_TIMEOUT_MS = 60_000;
/** Well under Node-RED's 15 s close timeout, so a redeploy never hits it. */
const DEFAULT_DRAIN_MS = 5000;
const MAX_DRAIN_MS = 10_000;
/** Status redraws are coalesced: at thousands of messages a second a redraw per message would flood the editor. */
const STATUS_INTERVAL_MS = 250;

function positiveInt(v: string | undefined, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(v);
  return v !== undefined && v !== '' && Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

/**
 * Consumes a hub queue. Each delivery becomes a msg on output 1; the flow's
 * completion of that msg is the acknowledgement. Completion is followed with
 * Node-RED's messaging hooks exactly as mllp-in's after-processing mode does
 * (see CompletionTracker): when every copy has been completed the message is
 * acknowledged; a done(err) anywhere downstream, an error a Catch node
 * received for it, or no completion within the timeout, fails the attempt and the queue retries it by its policy or
 * dead-letters it (at once when the error or msg.retryable says permanent).
 * Output 2 carries the queue's escalations for this queue (no body).
 */
export = function init(RED: NodeAPI): void {
  function QueueIn(this: Node, def: QueueInDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const name = (def.queue ?? '').trim();
    const timeoutMs = positiveInt(def.timeout, DEFAULT_TIMEOUT_MS);
    const drainMs = positiveInt(def.drain, DEFAULT_DRAIN_MS, MAX_DRAIN_MS);

    let queue: MessageQueue;
    let releaseName: () => void = () => undefined;
    let services: HubServices;
    try {
      services = getHubServices();
      if (!services.queue) throw new Error('no queue');
      queue = services.queue;
      if (services.queueDirectory) releaseName = services.queueDirectory.register(name);
    } catch (err) {
      node.error(RED._('queue-in.errors.config', { code: errorCode(err) === 'UNKNOWN' ? 'CONFIG' : errorCode(err) }));
      setStatus(node, 'error', RED._('queue-in.status.error', { queue: name, code: 'CONFIG' }));
      return;
    }

    const missing = missingSettings(def.requires, (n) => RED.util.getSetting(node, n) as unknown);
    if (missing.length > 0) {
      const release = services.queueDirectory?.hold(name, missing) ?? (() => undefined);
      node.log(RED._('queue-in.log.waiting', { queue: name, settings: missing.join(', ') }));
      // Next turn, like the consumer's status: shown once the flow has started.
      const shown = setImmediate(() => setStatus(node, 'connecting', RED._('queue-in.status.waiting', { queue: name, settings: missing.join(', ') })));
      node.on('close', (_removed: boolean, done: () => void) => {
        clearImmediate(shown);
        release();
        releaseName();
        done();
      });
      return;
    }

    let inFlight = 0;
    let failed = 0;
    let lastCode: string | null = null;
    let lastFailed = false;
    let consumerError: string | null = null;
    let statusTimer: NodeJS.Timeout | undefined;
    let closed = false;
    const drawStatus = (): void => {
      statusTimer = undefined;
      if (closed) return;
      if (consumerError) setStatus(node, 'error', RED._('queue-in.status.error', { queue: name, code: consumerError }));
      else {
        // Failures stay in the text (count and last code); the colour says whether the latest outcome was one.
        const text = failed > 0 ? RED._('queue-in.status.failing', { queue: name, count: inFlight, failed, code: lastCode ?? '' }) : RED._('queue-in.status.consuming', { queue: name, count: inFlight });
        setStatus(node, lastFailed ? 'error' : inFlight > 0 ? 'processing' : 'connected', text);
      }
    };
    const status = (): void => {
      statusTimer ??= setTimeout(drawStatus, STATUS_INTERVAL_MS);
    };

    const tracker = new CompletionTracker();
    /** `msg.retryable` of msgs a node failed, read when their outcome arrives. */
    const failedRetryable = new Map<string, unknown>();
    /**
     * Errors reported with node.error(err, msg) and then completed without
     * one, as Node-RED's http request node does: they reach Catch nodes, so
     * the msg failed even though every copy completed.
     */
    const caught = new Map<string, { error: unknown; retryable: unknown }>();
    const hooks = sharedMsgHooks(RED);
    const detach = hooks.attach();
    // Called only for the msgs this node follows (see SharedMsgHooks).
    const handlers: FollowedMsgHandlers = {
      preDeliver: (event) => tracker.delivered(event.msg._msgid, event.destination.id),
      onReceive: (event) => {
        const msg = event.msg as Msg;
        const id = msg._msgid;
        if (id !== undefined && tracker.has(id) && (event.destination.node as { type?: unknown } | undefined)?.type === 'catch' && msg.error) {
          if (!caught.has(id)) caught.set(id, { error: msg.error, retryable: msg.retryable });
        }
        tracker.received(id, event.destination.id);
      },
      onComplete: (event) => {
        const msg = event.msg as Msg;
        if (event.error !== undefined && event.error !== null && msg._msgid !== undefined && tracker.has(msg._msgid)) failedRetryable.set(msg._msgid, msg.retryable);
        tracker.completed(msg._msgid, event.node.id, event.error);
      },
      postReceive: (event) => {
        if (tracker.has(event.msg._msgid) && isLegacyNode(event.destination.node)) {
          tracker.settleLegacy(event.msg._msgid, event.destination.id, (fn) => setImmediate(fn));
        }
      },
    };

    const handle = (m: QueueMessage, signal: AbortSignal): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const msgId = RED.util.generateId();
        let settled = false;
        const finish = (err?: unknown): void => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          tracker.forget(msgId);
          hooks.unfollow(msgId);
          failedRetryable.delete(msgId);
          caught.delete(msgId);
          inFlight -= 1;
          lastFailed = err !== undefined;
          if (err === undefined) {
            resolve();
          } else {
            failed += 1;
            lastCode = errorCode(err);
            reject(err);
          }
          status();
        };
        const onAbort = (): void => finish(signal.reason ?? new Error('aborted'));
        const timer = setTimeout(() => finish(flowTimeout(name, m.id, timeoutMs)), timeoutMs);
        signal.addEventListener('abort', onAbort);
        inFlight += 1;
        status();

        let msg: Msg;
        try {
          msg = {
            _msgid: msgId,
            ...decodePayload(m.body, m.headers, m.id),
            hubMessageId: m.id,
            queue: {
              name,
              attempt: m.attempts,
              key: m.key,
              firstEnqueuedAt: m.firstEnqueuedAt.toISOString(),
              enqueuedAt: m.enqueuedAt.toISOString(),
              deadline: m.deadlineAt ? m.deadlineAt.toISOString() : null,
            },
          } as Msg;
        } catch (err) {
          finish(err);
          return;
        }
        hooks.follow(msgId, handlers);
        tracker.track(msgId, (outcome) => {
          const reported = caught.get(msgId);
          if (outcome.error !== undefined) finish(flowFailure(outcome.error, failedRetryable.get(msgId), name, m.id));
          else if (reported) finish(flowFailure(reported.error, reported.retryable, name, m.id));
          else finish();
        });
        try {
          node.send([msg, null]);
        } catch (err) {
          finish(flowFailure(err, undefined, name, m.id));
          return;
        }
        tracker.sent(msgId);
      });

    const onEscalation = (e: Escalation): void => {
      const escalation = {
        kind: e.kind,
        action: e.action,
        queue: e.queue,
        id: e.id,
        attempts: e.attempts,
        enqueuedAt: e.enqueuedAt.toISOString(),
        deadline: e.deadlineAt.toISOString(),
        lastErrorCode: e.lastError.code,
      };
      try {
        node.send([null, { _msgid: RED.util.generateId(), payload: escalation, escalation, hubMessageId: e.id } as Msg]);
      } catch (err) {
        node.warn(RED._('queue-in.errors.escalation', { code: errorCode(err) }));
      }
    };

    // A lost broker connection is shown until the adapter has reconnected.
    const onConnected = (): void => {
      consumerError = null;
      status();
    };
    queue.on('connected', onConnected);

    let consumer: Consumer | null = null;
    // Started on the next turn: a queue-out of the same deploy declares its
    // policy overrides while it is constructed, and the consumer takes the policy it finds.
    const starting = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      if (closed) return;
      const concurrency = def.concurrency ? positiveInt(def.concurrency, 0) || undefined : undefined;
      try {
        consumer = await queue.consume(name, (m, ctx) => handle(m, ctx.signal), {
          ...(concurrency ? { concurrency } : {}),
          onEscalation,
          onError: (err) => {
            consumerError = err.code;
            status();
          },
        });
        consumerError = null;
        drawStatus();
      } catch (err) {
        consumerError = errorCode(err);
        node.error(RED._('queue-in.errors.consume', { queue: name, code: consumerError }));
        drawStatus();
      }
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      releaseName();
      queue.off('connected', onConnected);
      clearTimeout(statusTimer);
      void starting
        // Messages still in the flow after the drain go back to the queue and are delivered again.
        .then(() => consumer?.close({ drainTimeoutMs: drainMs }))
        .catch((err: unknown) => node.warn(RED._('queue-in.errors.close', { code: errorCode(err) })))
        .finally(() => {
          detach();
          setStatus(node, 'idle');
          done();
        });
    });
  }
  RED.nodes.registerType('queue-in', QueueIn);
};
