// The cold-start floor: a worker that only says it is up.
import { parentPort } from 'node:worker_threads';

parentPort.postMessage('up');
