// A thread's stdout and stderr, taken line by line and handed to `line(stream, text)`
// instead of Node's own pipes, which run through the parent thread's event loop (the
// host's is blocked while it runs a call, so a worker's output would arrive after the
// call's result, or never if the host is terminated). Covers console.*, process.stdout /
// process.stderr writes, and fs.writeSync on fds 1 and 2 (what Emscripten 3.1.x worker
// files use). A partial line waits for its end, for flush(), or for the thread's exit.
// CommonJS, so a supervised worker's bootstrap loads it without Node's ES module loader.
'use strict';
const fs = require('node:fs');

/**
 * @param {(stream: 'stdout' | 'stderr', text: string) => void} line
 * @param {{stdout?: boolean, stderr?: boolean}} [streams] which streams to take (both by
 *   default); one left out keeps Node's own pipe (its creator reads worker.stdout itself)
 * @returns {{flush: () => void}}
 */
function captureOutput(line, streams = { stdout: true, stderr: true }) {
  const partial = { stdout: '', stderr: '' };

  function emit(stream, text) {
    const lines = (partial[stream] + text).split('\n');
    partial[stream] = lines.pop();
    for (const text of lines) line(stream, text);
  }

  function flush() {
    for (const stream of ['stdout', 'stderr']) {
      if (partial[stream]) line(stream, partial[stream]);
      partial[stream] = '';
    }
  }

  const taken = ['stdout', 'stderr'].filter((stream) => streams[stream]);
  for (const stream of taken) {
    process[stream].write = (chunk, encoding, callback) => {
      emit(stream, typeof chunk === 'string' ? chunk
        : Buffer.from(chunk).toString(typeof encoding === 'string' ? encoding : 'utf8'));
      const done = typeof encoding === 'function' ? encoding : callback;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };
  }
  const writeSync = fs.writeSync;
  fs.writeSync = function (fd, data, ...rest) {
    if (!((fd === 1 && streams.stdout) || (fd === 2 && streams.stderr))) return writeSync.call(this, fd, data, ...rest);
    let text;
    if (typeof data === 'string') {
      text = data;
    } else {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : data.byteLength - offset;
      text = Buffer.from(data.buffer, data.byteOffset + offset, length).toString('utf8');
    }
    emit(fd === 1 ? 'stdout' : 'stderr', text);
    return typeof data === 'string' ? Buffer.byteLength(data) : Buffer.byteLength(text);
  };
  process.on('exit', flush);
  return { flush };
}

module.exports = { captureOutput };
