// Who died, and how, from the evidence main holds when a host ends badly: a notice (from
// the dying thread over its own port, or from the host thread) and the crash record that
// C++ handlers or the pthread hooks wrote into the shared memory. Pure functions: the
// HostSession gathers the evidence and acts on the verdict.
//
// The record wins on the kind and the message when it has them: C++'s terminate and new
// handlers know what no JS error says (std::terminate with the exception's what(), a
// failed allocation). On who died, a thread's own notice wins, since it was sent by that
// thread; the host's notices and a bare exit know less than the record. A notice over a
// port always comes from a thread the host started, never the host thread, though it may
// not know its pthread (glue whose messages Closure renamed): then "a thread of the host".

// The record names the host thread by its pthread id like any other thread; errors name
// it thread -1, pthread 0.
function identify(record, hostPthread) {
  return record.pthread && record.pthread === hostPthread ? { thread: -1, pthread: 0 }
    : { thread: record.thread, pthread: record.pthread };
}

/**
 * A death someone reported. `notice`: { thread, pthread, kind, message, stack, source }
 * with source 'port' (the thread itself) or 'host'. Returns WasmPanicError's fields.
 */
export function crashVerdict({ notice, record, hostPthread }) {
  const who = record && notice.source !== 'port' ? identify(record, hostPthread)
    : { thread: notice.source === 'port' && notice.thread < 0 && !notice.pthread ? null : notice.thread,
        pthread: notice.pthread };
  return {
    ...who,
    kind: record && record.kind !== 'unknown' ? record.kind : notice.kind,
    message: record?.message || notice.message,
    wasmStack: notice.stack,
    source: notice.source,
  };
}

/**
 * The host worker died (an uncaught error) or exited with nobody's word on it: a crash of
 * the host, unless the record says which thread died and how. Returns WasmPanicError's fields.
 */
export function hostDeathVerdict({ message, cause, record, hostPthread }) {
  return {
    ...(record ? identify(record, hostPthread) : { thread: -1, pthread: 0 }),
    kind: record?.kind ?? 'host-exit',
    message: record?.message ?? message,
    wasmStack: cause?.stack,
    cause,
    source: record ? 'record' : 'exit',
  };
}
