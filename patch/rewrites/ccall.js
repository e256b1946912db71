// ccall/cwrap resolve exports with `Module["_" + ident]` in getCFunc(). Their arguments
// are converted on the calling instance (strings and arrays go to its stack), so routing
// the bare export would hand another instance pointers into the wrong memory: getCFunc
// takes the stock (unrouted) function instead.
export const name = 'ccall-stock-lookup';

export function apply(ctx) {
  const lookup = ctx.glue.cfuncLookup;
  if (!lookup) return { applied: false, detail: 'no getCFunc (ccall/cwrap not in the build)' };
  ctx.s.appendLeft(lookup.start, '__wasmpoolStockOf(');
  ctx.s.appendRight(lookup.end, ')');
  return { applied: true, detail: 'getCFunc returns the unrouted export' };
}
