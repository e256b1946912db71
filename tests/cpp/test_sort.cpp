// parallel_sort on the input shapes that break quicksorts (sorted, reversed, duplicates,
// organ pipes, adversarial patterns), on element types std::sort accepts (move-only, no
// default constructor), and its state after a throwing comparator; its block partition
// against std::partition.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace wasmpool;

namespace {

// Large enough that every shape goes through several parallel partition levels (the serial
// cutoff is 16384 elements; leaves are n / (8 * threads)).
constexpr std::size_t kN = 300'000;

std::vector<std::int64_t> shape(const std::string& name, std::size_t n) {
  std::vector<std::int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<std::int64_t>(i);
    const auto r = static_cast<std::int64_t>(test::rng()() % 1'000'000'007);
    if (name == "random") v[i] = r;
    if (name == "sorted") v[i] = x;
    if (name == "reversed") v[i] = -x;
    if (name == "all equal") v[i] = 7;
    if (name == "two values") v[i] = r % 2;
    if (name == "few values") v[i] = r % 17;
    if (name == "organ pipe") v[i] = std::min(x, static_cast<std::int64_t>(n) - x);
    if (name == "sawtooth") v[i] = x % 1000;
    if (name == "sorted, then random tail") v[i] = i < n - n / 100 ? x : r;
    if (name == "one out of place") v[i] = i == n / 2 ? -1 : x;
  }
  return v;
}

}  // namespace

TEST_CASE("parallel_sort sorts every input shape, on 1 to 4 threads", "[sort]") {
  const std::vector<std::string> shapes = {
      "random",          "sorted",     "reversed",
      "all equal",       "two values", "few values",
      "organ pipe",      "sawtooth",   "sorted, then random tail",
      "one out of place"};
  for (std::size_t threads : {1u, 2u, 3u, 4u}) {
    ThreadPool pool(threads);
    for (const auto& name : shapes) {
      INFO(name << ", threads: " << threads);
      auto v = shape(name, kN);
      auto expected = v;
      std::sort(expected.begin(), expected.end());
      pool.install([&] { parallel_sort(v.begin(), v.end()); });
      REQUIRE(v == expected);
      pool.install([&] { parallel_sort(v.begin(), v.end(), std::greater<>{}); });
      std::sort(expected.begin(), expected.end(), std::greater<>{});
      REQUIRE(v == expected);
    }
  }
}

TEST_CASE("parallel_sort takes move-only types without a default constructor", "[sort]") {
  struct Key {
    explicit Key(int v) : value(std::make_unique<int>(v)) {}
    std::unique_ptr<int> value;
  };
  std::vector<Key> keys;
  std::vector<int> expected;
  for (std::size_t i = 0; i < 100'000; ++i) {
    const int x = static_cast<int>(test::rng()() % 5000);
    keys.emplace_back(x);
    expected.push_back(x);
  }
  std::sort(expected.begin(), expected.end());
  ThreadPool pool(2);
  pool.install([&] {
    parallel_sort(keys.begin(), keys.end(),
                  [](const Key& a, const Key& b) { return *a.value < *b.value; });
  });
  std::vector<int> got;
  for (const auto& k : keys) got.push_back(*k.value);
  CHECK(got == expected);
}

// std::sort itself promises only valid values after a throwing comparator (its insertion
// sort holds one element aside while it shifts the others), and the leaves are std::sort:
// so the check is that every value left is one of the input's, and that the pool sorts
// the same range again afterwards.
TEST_CASE("a throwing comparator's exception reaches the caller, values stay valid", "[sort]") {
  std::vector<int> v(200'000);
  for (auto& x : v) x = static_cast<int>(test::rng()() % 100'000);
  auto reference = v;
  std::sort(reference.begin(), reference.end());
  ThreadPool pool(2);
  for (int fail_at : {10, 150'000, 1'500'000}) {
    INFO("the comparator throws at call " << fail_at);
    std::atomic<int> calls{0};
    CHECK_THROWS_AS(pool.install([&] {
      parallel_sort(v.begin(), v.end(), [&](int a, int b) {
        if (calls.fetch_add(1, std::memory_order_relaxed) == fail_at)
          throw std::out_of_range("comp");
        return a < b;
      });
    }),
                    std::out_of_range);
    CHECK(v.size() == reference.size());
    CHECK(std::all_of(v.begin(), v.end(), [&](int x) {
      return std::binary_search(reference.begin(), reference.end(), x);
    }));
  }
  pool.install([&] { parallel_sort(v.begin(), v.end()); });
  CHECK(std::is_sorted(v.begin(), v.end()));
}

TEST_CASE("the block partition agrees with std::partition around its block sizes", "[sort]") {
  // Sizes around one, two and three blocks from each end, and predicates that hold for
  // none, few, half, most and all elements.
  for (std::size_t n = 0; n < 1200; n += (n < 300 ? 1 : 37)) {
    for (int percent : {0, 3, 50, 97, 100}) {
      std::vector<int> v(n);
      for (auto& x : v) x = static_cast<int>(test::rng()() % 100);
      auto pred = [percent](int x) { return x < percent; };
      const auto expected = static_cast<std::ptrdiff_t>(std::count_if(v.begin(), v.end(), pred));
      auto sorted_before = v;
      std::sort(sorted_before.begin(), sorted_before.end());
      const auto split = detail::block_partition(v.begin(), v.end(), pred);
      INFO("n " << n << ", " << percent << "% true");
      REQUIRE(split - v.begin() == expected);
      REQUIRE(std::all_of(v.begin(), split, pred));
      REQUIRE(std::none_of(split, v.end(), pred));
      std::sort(v.begin(), v.end());
      REQUIRE(v == sorted_before);
    }
  }
}

TEST_CASE("parallel_sort takes what std::sort takes: other iterators, non-const comparators",
          "[sort]") {
  ThreadPool pool(2);
  std::deque<int> d;
  for (int i = 0; i < 200'000; ++i) d.push_back(static_cast<int>(test::rng()() % 50'000));
  std::vector<int> expected(d.begin(), d.end());
  std::sort(expected.begin(), expected.end(), std::greater<>{});
  // A comparator taking non-const references, as std::sort allows (it passes *it).
  pool.install([&] { parallel_sort(d.begin(), d.end(), [](int& a, int& b) { return a > b; }); });
  CHECK(std::equal(d.begin(), d.end(), expected.begin(), expected.end()));

  std::vector<int> v(expected.rbegin(), expected.rend());  // ascending
  std::shuffle(v.begin(), v.end(), test::rng());
  pool.install([&] { parallel_sort(v.rbegin(), v.rend()); });  // descending through rbegin
  CHECK(v == expected);
}
