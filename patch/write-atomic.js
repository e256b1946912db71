// Atomic file writes: a temp file in the destination's directory, then rename(2), so a
// reader sees the old file or the new one, never a partial write.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

export function tempPathFor(destination) {
  const suffix = `${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(destination), `.${path.basename(destination)}.${suffix}.tmp`);
}

export function writeFileAtomic(destination, data, { mode } = {}) {
  const temp = tempPathFor(destination);
  try {
    fs.writeFileSync(temp, data, mode === undefined ? undefined : { mode });
    fs.renameSync(temp, destination);
  } catch (error) {
    try { fs.rmSync(temp, { force: true }); } catch { /* best effort */ }
    throw error;
  }
}

// Writes several files, each atomically; all temp files are written first so that a
// failure before the renames leaves every destination untouched.
export function writeFilesAtomic(entries) {
  const staged = [];
  try {
    for (const { path: destination, data, mode } of entries) {
      const temp = tempPathFor(destination);
      staged.push({ temp, destination });
      fs.writeFileSync(temp, data, mode === undefined ? undefined : { mode });
    }
  } catch (error) {
    for (const { temp } of staged) { try { fs.rmSync(temp, { force: true }); } catch { /* best effort */ } }
    throw error;
  }
  for (const { temp, destination } of staged) fs.renameSync(temp, destination);
}
