#!/usr/bin/env node
// wasm-threadpool-patch <glue.js|glue.mjs> [--out <path>] [--json] [--dry-run] [--quiet]
// Exit codes: 0 patched or already patched, 1 refused (glue not understood; nothing
// written), 2 usage or I/O error.
import { patchGlue, PatchError } from './index.js';

const USAGE = 'usage: wasm-threadpool-patch <glue.js|glue.mjs> [--out <path>] [--json] [--dry-run] [--quiet]';

function parseArgs(argv) {
  const args = { input: null, out: null, json: false, dryRun: false, quiet: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--dry-run') args.dryRun = true;
    else if (arg === '--quiet' || arg === '-q') args.quiet = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else if (arg === '--out' || arg === '-o') {
      if (i + 1 >= argv.length) throw new Error('--out needs a path');
      args.out = argv[++i];
    } else if (arg.startsWith('--out=')) args.out = arg.slice(6);
    else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else if (args.input) throw new Error(`only one glue file, got ${args.input} and ${arg}`);
    else args.input = arg;
  }
  if (!args.help && !args.input) throw new Error('no glue file given');
  return args;
}

function describe(report) {
  const lines = [];
  if (report.alreadyPatched) {
    lines.push(`${report.input}: already patched (module ${report.marker.moduleId}); nothing changed`);
    if (report.written.length) lines.push(`  copied to ${report.output}`);
  } else {
    lines.push(`${report.dryRun ? 'would patch' : 'patched'} ${report.input}${report.output !== report.input ? ` -> ${report.output}` : ''} (module ${report.marker.moduleId})`);
    for (const r of report.rewrites) lines.push(`  ${r.applied ? '+' : '-'} ${r.name}: ${r.detail}`);
    for (const file of report.written) lines.push(`  wrote ${file}`);
    for (const file of report.removed || []) lines.push(`  removed ${file}`);
  }
  for (const warning of report.warnings || []) lines.push(`  warning: ${warning}`);
  return lines.join('\n');
}

function main(argv) {
  let args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`wasm-threadpool-patch: ${error.message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const report = patchGlue({ input: args.input, out: args.out, dryRun: args.dryRun });
    if (args.json) process.stdout.write(`${JSON.stringify({ ok: true, ...report }, null, 2)}\n`);
    else if (!args.quiet) process.stdout.write(`${describe(report)}\n`);
    return 0;
  } catch (error) {
    const refused = error instanceof PatchError && error.code !== 'ENOENT';
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ ok: false, refused, error: error.message, missing: error.missing || null }, null, 2)}\n`);
    }
    process.stderr.write(`wasm-threadpool-patch: ${refused ? 'refused' : 'error'}: ${error.message}\n` +
      (refused ? '  nothing was written\n' : ''));
    return refused ? 1 : 2;
  }
}

process.exitCode = main(process.argv.slice(2));
