// Force-included into each upstream test program: its `int main()` becomes
// `void UPSTREAM_TEST_NAME()`, so one module can export them all. (Renaming main with a
// plain -Dmain=... would leave an int function without a return statement, which is
// undefined behaviour that the optimizer exploits; only main may omit its return.)
#pragma once
#define UPSTREAM_CAT2(a, b) a##b
#define UPSTREAM_CAT(a, b) UPSTREAM_CAT2(a, b)
#define main() UPSTREAM_CAT(UPSTREAM_TEST_NAME, _unused_); void UPSTREAM_TEST_NAME()
