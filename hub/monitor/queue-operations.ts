import type { DeadLetter, MessageQueue } from '../../adapters/queue';
import { IntegrationError } from '../../adapters/shared/errors';
import type { MessageQuery, MessageStore } from '../../adapters/store';
import type { MessageOperations, OperationHistoryEntry, QueueDepth, QueueStatusProvider } from './types';

/** The queue names the hub serves (the QueueDirectory). */
export interface QueueNames {
  names(): string[];
  /** Settings a queue's consumer waits for (see QueueDirectory.hold). */
  waitingFor?(queue: string): string[] | null;
}

const PAGE = 500;

/** Depth and oldest-message age of every queue the hub knows, for the monitor overview. */
export function queueStatusProvider(queue: MessageQueue, directory: QueueNames): QueueStatusProvider {
  return {
    list: (): Promise<QueueDepth[]> =>
      Promise.all(directory.names().map(async (q) => ({ ...(await queue.stats(q)), waitingFor: directory.waitingFor?.(q) ?? null }))),
  };
}

/** The message is not a dead letter in any known queue: nothing to replay or discard (409, not a retry). */
export class NotDeadLetteredError extends IntegrationError {
  constructor(id: string) {
    super(`message ${id} is not a dead letter in any queue`, 'NOT_FOUND', false);
  }
}

/**
 * The monitor's replay / edit-and-replay / discard over the retry queues. A
 * dead letter's id is the hub message id (queue-out uses msg.hubMessageId),
 * so a stored message is found by looking for that id among the dead letters
 * of every known queue. Replays keep the id, so destinations still see the
 * same idempotency key. Audit entries are the monitor API's job.
 */
export class QueueMessageOperations implements MessageOperations {
  constructor(
    private readonly queue: MessageQueue,
    private readonly directory: QueueNames,
    private readonly store: Pick<MessageStore, 'search'>,
  ) {}

  /**
   * @param id - hub message id
   * @param _reason - already in the audit log
   * @param editedBody - a corrected body, or the original when absent
   * @param by - user name, kept in the message's history
   */
  async replay(id: string, _reason: string, editedBody?: Buffer, by?: string): Promise<void> {
    const letter = await this.locate(id);
    if (!letter) throw new NotDeadLetteredError(id);
    await this.queue.replayDeadLetter(letter.queue, id, { ...(editedBody ? { body: editedBody } : {}), ...(by ? { by } : {}) });
  }

  async discard(id: string, _reason: string, _by?: string): Promise<void> {
    const letter = await this.locate(id);
    if (!letter) throw new NotDeadLetteredError(id);
    await this.queue.discardDeadLetter(letter.queue, id);
  }

  /**
   * Replays the dead letters among the stored messages matching `filter`;
   * matching messages that are not dead letters are left alone.
   * @returns how many were replayed
   */
  async replayMatching(filter: Omit<MessageQuery, 'limit' | 'cursor'>, _reason: string, by?: string): Promise<number> {
    // One pass over the dead letters (fewer than the stored messages, as a rule) instead of a lookup per message.
    const queueOf = new Map<string, string>();
    for (const q of this.directory.names()) {
      let cursor: string | undefined;
      do {
        const page = await this.queue.listDeadLetters(q, { limit: PAGE, ...(cursor ? { cursor } : {}) });
        for (const d of page.items) queueOf.set(d.id, q);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }
    if (queueOf.size === 0) return 0;
    let replayed = 0;
    let cursor: string | undefined;
    do {
      const page = await this.store.search({ ...filter, limit: PAGE, ...(cursor ? { cursor } : {}) });
      for (const m of page.items) {
        const q = queueOf.get(m.id);
        if (q === undefined) continue;
        await this.queue.replayDeadLetter(q, m.id, by ? { by } : {});
        queueOf.delete(m.id);
        replayed += 1;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor && queueOf.size > 0);
    return replayed;
  }

  /** The queue history of a dead letter (failed attempts, replays, the move to the dead letters); empty otherwise. */
  async history(id: string): Promise<OperationHistoryEntry[]> {
    const letter = await this.locate(id);
    if (!letter) return [];
    const out: OperationHistoryEntry[] = letter.history.map((h) =>
      h.event === 'failed' ? { event: 'failed', at: h.at, attempt: h.attempt, code: h.code, message: h.message } : { event: 'replayed', at: h.at, edited: h.edited, by: h.by },
    );
    out.push({ event: 'dead-lettered', at: letter.deadAt, reason: letter.reason });
    return out;
  }

  private async locate(id: string): Promise<DeadLetter | null> {
    for (const q of this.directory.names()) {
      const letter = await this.queue.getDeadLetter(q, id);
      if (letter) return letter;
    }
    return null;
  }
}
