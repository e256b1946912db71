#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <wasmpool/deque.hpp>

#include "test_util.hpp"

using Deque = wasmpool::detail::ChaseLevDeque<int*>;

TEST_CASE("deque: owner is LIFO, thieves are FIFO, and it grows", "[deque]") {
  Deque d(4);
  std::vector<int> items(1000);
  for (auto& x : items) d.push(&x);
  CHECK(d.capacity() >= 1000);
  auto first = d.steal();
  REQUIRE(first.status == Deque::Steal::kSuccess);
  CHECK(first.item == &items[0]);
  CHECK(d.pop() == &items[999]);
  for (int i = 998; i >= 1; --i) REQUIRE(d.pop() == &items[i]);
  CHECK(d.pop() == nullptr);
  CHECK(d.steal().status == Deque::Steal::kEmpty);
  CHECK(d.looks_empty());
}

TEST_CASE("deque: every item is taken exactly once under concurrent stealing", "[deque]") {
  const int kItems = 200'000 / (test::kRepeat < 10 ? 10 : 1);
  std::vector<int> items(kItems);
  std::vector<std::atomic<int>> taken(kItems);
  Deque d(2);  // tiny: forces growth while thieves are active
  std::atomic<bool> done{false};
  auto record = [&](int* p) { taken[p - items.data()].fetch_add(1, std::memory_order_relaxed); };
  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t) {
    thieves.emplace_back([&] {
      while (!done.load(std::memory_order_acquire)) {
        auto r = d.steal();
        if (r.status == Deque::Steal::kSuccess) record(r.item);
      }
      for (;;) {  // drain what is left
        auto r = d.steal();
        if (r.status == Deque::Steal::kEmpty) break;
        if (r.status == Deque::Steal::kSuccess) record(r.item);
      }
    });
  }
  // The owner pushes in bursts and pops some back, like fork-join code does.
  for (int i = 0; i < kItems;) {
    const int burst = 1 + static_cast<int>(test::random_size(64));
    for (int k = 0; k < burst && i < kItems; ++k, ++i) d.push(&items[i]);
    for (int k = 0; k < burst / 2; ++k) {
      if (int* p = d.pop()) record(p);
    }
  }
  while (int* p = d.pop()) record(p);
  done.store(true, std::memory_order_release);
  for (auto& t : thieves) t.join();
  for (int i = 0; i < kItems; ++i) REQUIRE(taken[i].load() == 1);
}
