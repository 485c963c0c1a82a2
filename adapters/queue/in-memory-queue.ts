import { randomBytes } from 'node:crypto';
import { BodyCipher } from '../store/body-cipher';
import type { QueueDeps } from './deps';
import { EmbeddedQueue } from './embedded-queue';
import type { EmbeddedQueueOptions } from './embedded-queue';

/**
 * The reference implementation and test double: the embedded queue on an
 * in-memory SQLite database with a throwaway key. Same semantics, same
 * contract suite, nothing on disk and nothing survives `close()`. For node
 * tests and local experiments; never for production traffic.
 */
export class InMemoryQueue extends EmbeddedQueue {
  constructor(options: Omit<EmbeddedQueueOptions, 'file' | 'cipher'> = {}, deps: QueueDeps = {}) {
    super({ ...options, file: ':memory:', cipher: new BodyCipher({ mem: randomBytes(32) }, 'mem') }, deps);
  }
}
