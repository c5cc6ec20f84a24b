/**
 * node dist/bench/seal-cost.js: what sealing costs the main thread a row, on the
 * benchmark's rows in loads as the loader makes them (frames of 100 rows, 20k rows a
 * load): hashing on the main thread (the leaves, the Merkle root and the leaves' block,
 * as the first implementation did inline) against handing the load to the hashing thread
 * (seal-thread.ts). The main thread's CPU comes from /proc (its thread id is the pid).
 *
 *   SEAL_COST_LOADS (20)
 */
import { hashLoad } from '../collector/integrity/hash-load.js';
import { SealThread } from '../collector/integrity/seal-thread-client.js';
import { encodeRows } from '../collector/store/row-encoding.js';
import { cpuSeconds } from './proc.js';
import { benchEvents, buildTemplate } from './workload.js';

const LOADS = Number(process.env.SEAL_COST_LOADS ?? 20);
const FRAME_ROWS = 100;
const LOAD_ROWS = 20_000;

const mainCpu = () => cpuSeconds(process.pid, process.pid);

async function main(): Promise<void> {
  const events = benchEvents(Array.from({ length: 32 }, (_, i) => buildTemplate(FRAME_ROWS, i)));
  const frames: Buffer[] = [];
  for (let at = 0; at < LOAD_ROWS; at += FRAME_ROWS) {
    const rows = Array.from({ length: FRAME_ROWS }, (_, i) => ({ ...events[(at + i) % events.length]!, event_id: `seal-cost-${at + i}` }));
    frames.push(encodeRows(rows, 1 + at, 'bench').buffer);
  }
  const joined = Buffer.concat(frames);
  const load = { sealedThrough: 0, dropped: [], collectorId: 'bench' };
  const rows = LOADS * LOAD_ROWS;

  // Frame by frame, as the loader hands them over.
  hashLoad({ ...load, blocks: frames }); // warm-up
  let cpu = mainCpu();
  let wall = performance.now();
  for (let i = 0; i < LOADS; i++) hashLoad({ ...load, blocks: frames });
  const inline = { cpu: mainCpu() - cpu, wall: performance.now() - wall };

  const thread = new SealThread();
  await thread.hash({ ...load, blocks: frames }); // starts the thread
  cpu = mainCpu();
  wall = performance.now();
  for (let i = 0; i < LOADS; i++) await thread.hash({ ...load, blocks: frames });
  const threaded = { cpu: mainCpu() - cpu, wall: performance.now() - wall };
  await thread.close();

  const us = (seconds: number) => ((seconds / rows) * 1e6).toFixed(2);
  process.stdout.write(
    [
      `sealing ${rows} bench rows (${(joined.length / LOAD_ROWS).toFixed(0)} B a row in Native blocks) in loads of ${LOAD_ROWS}:`,
      `  on the main thread      ${us(inline.cpu)} µs of main-thread CPU a row (${(inline.wall / LOADS).toFixed(0)} ms a load)`,
      `  on the hashing thread   ${us(threaded.cpu)} µs of main-thread CPU a row (${(threaded.wall / LOADS).toFixed(0)} ms a load, waited for)`,
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`seal-cost failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
