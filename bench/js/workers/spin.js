// A fixed amount of pure CPU work (no memory traffic), for measuring how much parallel
// capacity the machine offers right now: see machineCapacity() in pool-figures.js.
import { parentPort, workerData } from 'node:worker_threads';

let x = 1;
for (let i = 0; i < workerData.iterations; i++) x = (x * 1103515245 + 12345) % 2147483648;
parentPort.postMessage(x);
