// The power audit's thread: the seeded simulations take seconds of CPU, which must not hold up SDK polls and ticks.
import { parentPort, workerData } from 'node:worker_threads';
import { powerInline } from './audit.ts';
import type { PowerInput, PowerOptions } from './power.ts';

const { inputs, options } = workerData as { inputs: PowerInput[]; options: PowerOptions };
powerInline(inputs, options).then(
  (checks) => parentPort?.postMessage({ checks }),
  (err: Error) => parentPort?.postMessage({ error: err.message }),
);
