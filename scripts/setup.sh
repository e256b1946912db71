#!/usr/bin/env bash
# Idempotent machine setup: Debian packages for the toolchains, then npm ci.
# Safe to run any number of times; does nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v em++ >/dev/null 2>&1 || need+=(emscripten)
command -v cmake >/dev/null 2>&1 || need+=(cmake)
command -v g++ >/dev/null 2>&1 || need+=(g++)
[ -f /usr/include/catch2/catch.hpp ] || need+=(catch2)
[ -f /usr/include/tbb/tbb.h ] || [ -f /usr/include/oneapi/tbb.h ] || need+=(libtbb-dev)
[ -f /usr/include/benchmark/benchmark.h ] || need+=(libbenchmark-dev)
# Third-party code the tests host (tests/modules): a std::thread pool, and a concurrent
# queue whose own test programs Debian ships.
[ -f /usr/include/thread_pool/thread_pool.hpp ] || need+=(libthread-pool-dev)
[ -f /usr/share/doc/libconcurrentqueue-dev/examples/test2.cpp ] || need+=(libconcurrentqueue-dev)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# npm ci only when the lockfile changed since the last install. A node_modules that is a
# symlink (a git worktree sharing another checkout's) is left alone: npm ci would empty the
# directory it points to.
if [ -L node_modules ]; then
  :
elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
