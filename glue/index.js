// Public entry point of the package.
export { ThreadPoolManager } from './main/manager.js';
export {
  WasmPoolError,
  WasmPanicError,
  WasmHangError,
  WasmCallError,
  WasmTimeoutError,
  WasmAbortError,
  WasmShutdownError,
  WasmHostStartError,
} from './main/errors.js';
