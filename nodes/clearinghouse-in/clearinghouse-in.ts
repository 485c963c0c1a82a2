import { createHash } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { IntegrationError, errorCode } from '../../adapters/shared/errors';
import { Ssh2SftpPoller } from '../../adapters/sftp';
import { readInterchange } from '../../adapters/x12';
import type { PickedFile } from '../../adapters/sftp';
import type { ClearinghouseNode } from '../clearinghouse/clearinghouse-node';
import { hubServicesOrNull } from '../emr-out/outbound';
import { nodeLogger } from '../mllp-endpoint/node-logger';
import { envSetting } from '../shared/env-setting';
import { FollowedSource } from '../shared/followed-source';
import { followTimeoutMs } from '../shared/follow-timeout';
import { setStatus } from '../shared/status';
import { X12_CONTENT_TYPE } from '../x12-837p/x12-837p-constants';

interface ClearinghouseInDef extends NodeDef {
  clearinghouse: string;
  /** Remote directory with the clearinghouse's answers; `${HUB_…}` allowed. */
  inboxDir: string;
  /** Regular expression (case-insensitive) for the file names to take. */
  pattern: string;
  /** Seconds between polls; `${HUB_…}` allowed. */
  interval: string | number;
  afterPickup: 'archive' | 'delete';
  /** How long the flow may take with a file (ms); blank for the default (see followTimeoutMs). */
  processingTimeoutMs?: string | number;
  /** Default `<inboxDir>/archive`. */
  archiveDir: string;
}

/** A picked-up file as it is sent on (no file name when read back from the store). */
interface PickedText {
  text: string;
  fileName: string | null;
  messageType: string;
}

/** 999 and TA1 acknowledgments, 277CA claim status, 835 remittances, and the generic X12 extensions. */
const DEFAULT_PATTERN = '\\.(999|ta1|277|277ca|835|era|x12|edi)$';
const DEFAULT_INTERVAL_S = 60;

/**
 * Picks up the clearinghouse's answers (999, 277CA, 835) from its SFTP
 * server, using the clearinghouse config node's login. Each file is stored
 * first (inbound, under the clearinghouse's endpoint, body encrypted), then
 * sent on as msg.payload, and only then moved to the archive directory (or
 * deleted) on the server. A file stored before (the move after an earlier
 * pick-up failed) is recognised by its SHA-256 and not sent on twice.
 * The record stays `processing` until the flow has finished with the file
 * (`sent`, or `error`); one a previous run left `processing` (a crash after
 * the store: the next poll only archives the file) goes through the flow
 * again once the flows have started.
 */
export = function init(RED: NodeAPI): void {
  function ClearinghouseIn(this: Node, def: ClearinghouseInDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const logger = nodeLogger(node);
    const clearinghouse = RED.nodes.getNode(def.clearinghouse) as ClearinghouseNode | null;
    let timer: NodeJS.Timeout | undefined;
    let polling: Promise<void> = Promise.resolve();
    let closed = false;
    let picked = 0;
    let source: FollowedSource<PickedText> | undefined;

    const consume = async (file: PickedFile): Promise<void> => {
      const services = hubServicesOrNull();
      if (!services || !clearinghouse || !source) throw new IntegrationError("the hub's message store is needed", 'CONFIG', false);
      const { store } = services;
      const endpoint = clearinghouse.storeName;
      const controlId = `sha256:${createHash('sha256').update(file.content).digest('hex').slice(0, 40)}`;
      const earlier = (await store.search({ endpoint, controlId, direction: 'inbound', limit: 1 })).items[0];
      if (earlier) {
        // Stored and sent on by an earlier poll whose move on the server did not happen.
        logger.info('clearinghouse file already stored; not sent on again', { endpoint, id: earlier.id, bytes: file.content.length });
        return;
      }
      const text = file.content.toString('utf8');
      const messageType = x12Type(text);
      const record = await store.insert({ direction: 'inbound', endpoint, controlId, messageType, status: 'processing', contentType: X12_CONTENT_TYPE, flowId: node.z ?? null, nodeId: node.id, body: file.content });
      picked += 1;
      source.send(record.id, { text, fileName: file.name, messageType });
    };

    try {
      if (!clearinghouse) throw new IntegrationError(RED._('clearinghouse-in.errors.no-clearinghouse'), 'CONFIG', false);
      clearinghouse.register(node);
      const inbox = envSetting(def.inboxDir).trim();
      const login = clearinghouse.transport === 'sftp' ? clearinghouse.sftpLogin : undefined;
      const services = hubServicesOrNull();
      const timeoutMs = followTimeoutMs(envSetting(def.processingTimeoutMs));
      if (services) {
        source = new FollowedSource<PickedText>(RED, node, {
          store: services.store,
          timeoutMs,
          endpoint: clearinghouse.storeName,
          reprocessors: services.reprocessors,
          prepare: (record) => {
            const text = record.body.toString('utf8');
            return { text, fileName: null, messageType: record.messageType ?? x12Type(text) };
          },
          toMsg: (hubMessageId, { text, fileName, messageType }) => ({ _msgid: RED.util.generateId(), payload: text, fileName, hubMessageId, messageType }) as NodeMessage & { _msgid: string },
          recoverErrorKey: 'clearinghouse-in.errors.recover',
          reprocessRefusal: 'only a file this node picked up can be reprocessed',
        });
      }
      if (!login || !inbox) {
        setStatus(node, 'error', RED._(clearinghouse.problem === 'invalid' ? 'clearinghouse-in.status.config-error' : 'clearinghouse-in.status.not-configured'));
      } else {
        let pattern: RegExp;
        try {
          pattern = new RegExp((def.pattern ?? '').trim() || DEFAULT_PATTERN, 'i');
        } catch {
          throw new IntegrationError(RED._('clearinghouse-in.errors.pattern'), 'CONFIG', false);
        }
        const archiveDir = def.afterPickup === 'delete' ? null : envSetting(def.archiveDir).trim() || undefined;
        const poller = new Ssh2SftpPoller({ ...login, remoteDir: inbox, pattern, ...(archiveDir !== undefined ? { archiveDir } : {}) }, { logger });
        const tick = (): void => {
          if (closed) return;
          polling = polling.then(() =>
            poller.poll(consume).then(
              (r) => setStatus(node, r.failed > 0 ? 'error' : 'connected', RED._('clearinghouse-in.status.picked', { count: picked, waiting: r.waiting, failed: r.failed })),
              (err: unknown) => setStatus(node, 'error', RED._('clearinghouse-in.status.error', { code: errorCode(err) })),
            ),
          );
        };
        const seconds = Number(envSetting(def.interval) || DEFAULT_INTERVAL_S);
        timer = setInterval(tick, (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_INTERVAL_S) * 1000);
        setImmediate(tick);
        setStatus(node, 'connecting', RED._('clearinghouse-in.status.polling'));
      }
    } catch (err) {
      node.error(RED._('clearinghouse-in.errors.config', { reason: err instanceof Error ? err.message : String(err) }));
      setStatus(node, 'error', RED._('clearinghouse-in.status.config-error'));
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer) clearInterval(timer);
      polling
        .then(() => source?.close())
        .then(() => clearinghouse?.deregister(node))
        .catch((err: unknown) => node.warn(RED._('clearinghouse-in.errors.deregister', { code: errorCode(err) })))
        .finally(() => {
          setStatus(node, 'idle');
          done();
        });
    });
  }

  RED.nodes.registerType('clearinghouse-in', ClearinghouseIn);
};

/** `X12 835`, `X12 999`, `X12 TA1`… from the interchange; `X12` when it cannot be read (x12 parse then says why). */
function x12Type(text: string): string {
  try {
    const doc = readInterchange(text);
    const set = doc.groups[0]?.transactions[0]?.setId;
    if (set) return `X12 ${set}`;
    return doc.ta1.length > 0 ? 'X12 TA1' : 'X12';
  } catch {
    return 'X12';
  }
}
