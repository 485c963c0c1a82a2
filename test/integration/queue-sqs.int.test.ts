import { SqsQueue } from '../../adapters/queue';
import { describeMessageQueueContract } from '../contract/message-queue.contract';
import { startFauxqs } from '../support/fauxqs';
import type { Fauxqs } from '../support/fauxqs';

let fauxqs: Fauxqs;
beforeAll(async () => {
  fauxqs = await startFauxqs();
});
afterAll(async () => {
  await fauxqs?.stop();
});

let n = 0;
describeMessageQueueContract('SQS (fauxqs)', {
  // Short long-polls so a closing consumer's last poll ends quickly; scans without the extra wait real SQS needs.
  open: async (logger) => new SqsQueue({ prefix: `hubtest-${process.pid}-`, closeTimeoutMs: 500, waitTimeSeconds: 1, scanWaitSeconds: 0 }, { client: fauxqs.client(), logger }),
  uniqueName: () => `q${++n}`,
});
