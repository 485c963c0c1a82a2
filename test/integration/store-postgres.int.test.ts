import { createMessageStore } from '../../adapters/store';
import { describeMessageStoreContract } from '../contract/message-store.contract';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../support/postgres';
import { testStoreKeys } from '../support/store-keys';

const schemas: string[] = [];
beforeAll(async () => {
  await requirePostgres();
});

describeMessageStoreContract(
  'PostgreSQL',
  async () => {
    const schema = throwawaySchema();
    schemas.push(schema);
    return createMessageStore({ url: TEST_PG_URL, dataDir: '/nonexistent', schema, ...testStoreKeys() });
  },
  async () => {
    for (const s of schemas.splice(0)) await dropSchema(s);
  },
);
