// Public entry point of the package.
export { ThreadPoolManager } from './manager.js';
export {
  WasmPoolError,
  WasmPanicError,
  WasmHangError,
  WasmCallError,
  WasmTimeoutError,
  WasmAbortError,
  WasmShutdownError,
  WasmHostStartError,
} from './errors.js';
