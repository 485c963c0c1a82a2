/**
 * Child process of the patient index crash test
 * (test/integration/patient-index-crash.int.test.ts): writes messages for a
 * handful of patients into a SQLite store as fast as the store takes them,
 * many in flight, and prints `ack <id> <patient>` for every insert the store
 * has answered, until it is killed.
 *
 * Usage: node patient-store-writer.js <dataDir> <total> <patients>
 */
import { createMessageStore } from '../../adapters/store';

/** Fixed keys: the parent opens the same store after the kill. Test data only. */
export const CRASH_STORE_KEYS = { keys: { crash: Buffer.alloc(32, 3) }, activeKeyId: 'crash', patientKeySecret: Buffer.alloc(32, 5) };
const IN_FLIGHT = 64;

async function main(): Promise<void> {
  const [dataDir, totalArg, patientsArg] = process.argv.slice(2);
  const total = Number(totalArg);
  const patients = Number(patientsArg);
  const store = await createMessageStore({ url: 'sqlite:', dataDir: dataDir!, ...CRASH_STORE_KEYS });
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const n = next++;
      const patientId = `CRASH-MRN-${n % patients}`;
      const r = await store.insert({ direction: 'inbound', endpoint: 'crash-test', controlId: `C${n}`, messageType: 'ORU^R01', patientId, status: 'processing', contentType: 'application/hl7-v2', body: `MSH|^~\\&|CRASH|${n}` });
      process.stdout.write(`ack ${r.id} ${patientId}\n`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  process.stdout.write('done\n');
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  });
}
