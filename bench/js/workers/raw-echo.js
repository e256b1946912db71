// The raw baseline for the proxy round trip: a bare worker that answers each message of
// the same shape the host receives ({ type: 'call', id, name, args }) with the same shape
// the host sends back ({ type: 'result', id, value }). No wasm, no dispatch, no checks.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (message) => {
  parentPort.postMessage({ type: 'result', id: message.id, value: undefined });
});
