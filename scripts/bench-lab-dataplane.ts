/**
 * Start-up time and request latency of the lab's data plane (issue 3): `npx tsx scripts/bench-lab-dataplane.ts [runs]`.
 * Prints medians; no assertions (benchmarks stay out of the test suite).
 */
import https from 'node:https';
import { meshStateForFault, startDataPlane, type DataPlane } from '../src/lab/dataplane/index.js';

const runs = Number(process.argv[2] ?? 10);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function request(plane: DataPlane, id: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    https.get({ host: plane.nlb.host, port: plane.nlb.port, path: '/', servername: plane.publicHost, ca: plane.externalCaPem, headers: { host: plane.publicHost, 'x-request-id': id }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    }).on('error', reject);
  });
}

const starts: number[] = [];
const stops: number[] = [];
const latencies: number[] = [];
for (let i = 0; i < runs; i++) {
  let t0 = performance.now();
  const plane = await startDataPlane({ state: meshStateForFault(null) });
  starts.push(performance.now() - t0);
  for (let j = 0; j < 5; j++) latencies.push(await request(plane, `bench-${i}-${j}`));
  t0 = performance.now();
  await plane.stop();
  stops.push(performance.now() - t0);
}
console.log(`runs=${runs} start median=${median(starts).toFixed(1)} ms (first ${starts[0]!.toFixed(1)} ms) stop median=${median(stops).toFixed(1)} ms request median=${median(latencies).toFixed(1)} ms`);
