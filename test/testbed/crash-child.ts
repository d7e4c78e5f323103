// Run by sweep.test.ts as a separate process: makes a 1-host test bed, prints `READY <runId> <network> <private key path>` and waits
// to be SIGKILLed, so that nothing of its own cleanup runs (a crashed test run). Exits by itself after 120 s.
import { createTestbed } from './testbed.js';

const tb = await createTestbed({ name: 'crash', hosts: 1 });
process.stdout.write(`READY ${tb.runId} ${tb.network.name} ${tb.privateKeyPath}\n`);
setTimeout(() => {
  void tb.destroy().finally(() => process.exit(3));
}, 120_000);
