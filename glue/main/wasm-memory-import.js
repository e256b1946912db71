// Reads the limits of the memory a .wasm module imports, straight from its import
// section. The manager creates that memory itself (one per host), so it must match the
// module's declaration exactly: same initial size, same maximum, shared.
// WebAssembly.Module.imports() does not report limits on Node 20, hence this reader.

const IMPORT_SECTION = 2;
const KIND_FUNCTION = 0;
const KIND_TABLE = 1;
const KIND_MEMORY = 2;
const KIND_GLOBAL = 3;
const KIND_TAG = 4;

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }
  byte() {
    if (this.pos >= this.bytes.length) throw new Error('unexpected end of the wasm binary');
    return this.bytes[this.pos++];
  }
  u32() {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 35) throw new Error('malformed LEB128 in the wasm binary');
    }
  }
  name() {
    const length = this.u32();
    const text = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, length).toString('utf8');
    this.pos += length;
    return text;
  }
  limits() {
    const flags = this.byte();
    const initial = this.u32();
    const maximum = flags & 1 ? this.u32() : undefined;
    return { initial, maximum, shared: (flags & 2) !== 0 };
  }
}

/**
 * @param {Uint8Array} bytes the .wasm file
 * @returns {{module: string, name: string, initial: number, maximum?: number, shared: boolean} | null}
 *   the imported memory in 64 KiB pages, or null when the module imports none
 */
export function readMemoryImport(bytes) {
  const r = new Reader(bytes);
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a WebAssembly binary (bad magic number)');
  }
  r.pos = 8;
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id !== IMPORT_SECTION) {
      r.pos = end;
      continue;
    }
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const module = r.name();
      const name = r.name();
      const kind = r.byte();
      switch (kind) {
        case KIND_FUNCTION:
        case KIND_TAG:
          if (kind === KIND_TAG) r.byte();
          r.u32();
          break;
        case KIND_TABLE:
          r.byte();
          r.limits();
          break;
        case KIND_MEMORY:
          return { module, name, ...r.limits() };
        case KIND_GLOBAL:
          r.byte();
          r.byte();
          break;
        default:
          throw new Error(`unknown import kind ${kind} in the wasm binary`);
      }
    }
    return null;
  }
  return null;
}
