/**
 * Benchmark peer: a bare MLLP server on @medplum/hl7 that answers every
 * message with an AA built by @medplum/core. Nothing is stored. Runs as its
 * own process so it does not share the driver's event loop.
 * Note: Hl7Server binds all interfaces; the benchmark only sends on loopback.
 */
import { Hl7Server } from '@medplum/hl7';

const port = Number(process.argv[2]);
const server = new Hl7Server((connection) => {
  connection.addEventListener('message', ({ message }) => {
    connection.send(message.buildAck());
  });
});
server.start(port);
process.stdout.write(`listening ${port}\n`);
process.on('SIGTERM', () => {
  void server.stop({ forceDrainTimeoutMs: 100 }).finally(() => process.exit(0));
});
