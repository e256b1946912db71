# Front door for every build and test. Each target sets up what it needs, so on a
# fresh Debian 12 machine `make test` (or `npm test`) is a single command.
SHELL := /bin/bash
.DEFAULT_GOAL := build

# emcc 3.1.6 from Debian needs Node to find its own acorn.
export NODE_PATH := /usr/share/nodejs
JOBS ?= 2
NATIVE := build/native
WASM := build/wasm
TSAN := build/native-tsan
ASAN := build/native-asan
BENCH_NATIVE := build/native-bench
WASM_BENCH := build/wasm-bench

.PHONY: demo-prereqs bench-prereqs setup build build-native build-wasm test test-native test-sanitizers test-tsan test-asan \
        test-wasm test-js demo bench clean format

setup:
	@scripts/setup.sh

build: setup build-native build-wasm

build-native:
	cmake -S . -B $(NATIVE) -DCMAKE_BUILD_TYPE=Release -DWASMPOOL_BUILD_TESTS=ON >/dev/null
	cmake --build $(NATIVE) -j$(JOBS)

build-wasm:
	emcmake cmake -S . -B $(WASM) -DCMAKE_BUILD_TYPE=Release -DWASMPOOL_BUILD_TESTS=ON >/dev/null
	cmake --build $(WASM) -j$(JOBS)

test: build test-native test-sanitizers test-wasm test-js

test-native:
	$(NATIVE)/tests/cpp/pool_tests
	$(NATIVE)/tests/cpp/noexcept_tests

test-sanitizers: test-tsan test-asan

test-tsan:
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=Debug -DWASMPOOL_SANITIZER=thread >/dev/null
	cmake --build $(TSAN) -j$(JOBS) --target pool_tests
	TSAN_OPTIONS=halt_on_error=1 $(TSAN)/tests/cpp/pool_tests

test-asan:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DWASMPOOL_SANITIZER=address >/dev/null
	cmake --build $(ASAN) -j$(JOBS) --target pool_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 $(ASAN)/tests/cpp/pool_tests

test-wasm:
	node $(WASM)/tests/cpp/pool_tests_wasm.js

# A test that hangs fails after 10 minutes instead of holding the run (the longest takes
# about a minute).
test-js:
	node --test --test-concurrency=1 --test-timeout=600000 tests/js/ tests/patch/

# The prerequisites of `npm run node` and `npm run bench` build with their output on stderr,
# never stdout: the program that runs next owns stdout (`npm run bench -- --json > out.json`
# must be pure JSON). What a current build repeats on every run (make's "Built target"
# lines, emcmake's "configure:" echo) is dropped, so a build with nothing to do prints
# nothing; compile/link lines, warnings and errors still show. The status is the build's.
QUIET_BUILD = 2>&1 | { grep --line-buffered -v -E '^(\[ *[0-9]+%\] )?Built target |^Consolidate compiler generated dependencies of target |^configure: ' || true; } >&2; exit $${PIPESTATUS[0]}

demo-prereqs:
	@$(MAKE) --no-print-directory setup build-wasm $(QUIET_BUILD)

demo: demo-prereqs
	@node demo/main.js $(ARGS)

bench-prereqs: demo-prereqs
	@{ cmake -S . -B $(BENCH_NATIVE) -DCMAKE_BUILD_TYPE=Release -DWASMPOOL_BUILD_BENCH=ON -DWASMPOOL_BUILD_TESTS=OFF >/dev/null && \
	   cmake --build $(BENCH_NATIVE) -j$(JOBS) && \
	   emcmake cmake -S . -B $(WASM_BENCH) -DCMAKE_BUILD_TYPE=Release -DWASMPOOL_BUILD_BENCH=ON -DWASMPOOL_BUILD_TESTS=OFF >/dev/null && \
	   cmake --build $(WASM_BENCH) -j$(JOBS) --target pool_figures_wasm; } $(QUIET_BUILD)

bench: bench-prereqs
	@node bench/run.js $(ARGS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp' '*.h')

clean:
	rm -rf build
