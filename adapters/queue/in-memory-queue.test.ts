import { describeMessageQueueContract } from '../../test/contract/message-queue.contract';
import { InMemoryQueue } from './in-memory-queue';

let n = 0;
describeMessageQueueContract('in-memory (reference)', {
  open: async (logger) => new InMemoryQueue({ closeTimeoutMs: 500 }, { logger }),
  uniqueName: () => `mem-${process.pid}-${++n}`,
  durable: false,
});
