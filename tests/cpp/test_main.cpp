// The Catch2 main lives alone in this translation unit so that editing a test file does not
// recompile Catch2's implementation.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
