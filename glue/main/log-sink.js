// Where module output and per-thread logs go when the user gave no `log` option:
// printf/std::cout to stdout unchanged, C++ log lines to stderr with their thread.
export function defaultLogSink(entry) {
  if (entry.level === 'stdout') {
    process.stdout.write(`${entry.message}\n`);
    return;
  }
  if (entry.level === 'stderr') {
    process.stderr.write(`${entry.message}\n`);
    return;
  }
  const who = entry.thread >= 0 ? `thread ${entry.thread}` : 'host';
  process.stderr.write(`[wasm ${who} ${entry.level}] ${entry.message}\n`);
}
