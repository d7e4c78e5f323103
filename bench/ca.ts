// npm run bench (cluster CA part): what making a new cluster's CA costs, the default ECDSA-P256 against RSA-2048,
// in the async form the REST service uses (src/secrets/ca.ts: key and signature on libuv's thread pool). One CA at a
// time: p50 wall time, mean CPU time (every thread of this process), and the ratio.
import { performance } from 'node:perf_hooks';
import { newClusterCAAsync } from '../src/secrets/ca.js';
import type { EncryptionAlgorithm } from '../src/spec/schema.js';

async function measureCA(alg: EncryptionAlgorithm, runs: number): Promise<{ p50: number; cpu: number }> {
  await newClusterCAAsync(alg); // warm up
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await newClusterCAAsync(alg);
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(runs / 2)]!, cpu: (cpu.user + cpu.system) / 1000 / runs };
}

export async function benchCA(): Promise<void> {
  const ecdsa = await measureCA('ECDSA-P256', 50);
  const rsa = await measureCA('RSA-2048', 15);
  const row = (label: string, m: { p50: number; cpu: number }, tail = '') =>
    console.log(`${label.padEnd(44)} p50 ${m.p50.toFixed(2).padStart(8)} ms   cpu ${m.cpu.toFixed(2).padStart(8)} ms${tail}`);
  row('new cluster CA, ECDSA-P256 (the default)', ecdsa);
  row('new cluster CA, RSA-2048', rsa, `   (p50 x${(rsa.p50 / ecdsa.p50).toFixed(0)}, cpu x${(rsa.cpu / ecdsa.cpu).toFixed(0)} ECDSA-P256)`);
}
