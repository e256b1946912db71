// parallel_sort: an in-place parallel quicksort (parallel block partitions, std::sort on the
// leaves).
//
// Why a quicksort and not a merge sort: every partition level replaces one level of the
// serial sort's own recursion, so the parallel sort does no more than the serial sort's
// work, in place. A merge sort sorts smaller leaves but then moves every element once per
// merge level through an n-element scratch buffer, whose pages the kernel faults in on each
// call; on 2 cores that held it at 1.4-1.6x serial for 1e7 ints. docs/POOL.md,
// "parallel_sort", has the measurements.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <functional>
#include <iterator>
#include <type_traits>
#include <utility>

#include "wasmpool/join.hpp"
#include "wasmpool/parallel_for.hpp"

namespace wasmpool {
namespace detail {

/// std::partition without a branch on the predicate (the block partition of Edelkamp and
/// Weiss, "BlockQuicksort"). A block of kPartitionBlock elements is scanned from each end,
/// recording the offsets of the elements on the wrong side as a count that grows by the
/// predicate's result (no branch to mispredict); then as many pairs as both blocks have are
/// swapped. A block is consumed when it has no misplaced element left; the other keeps its
/// offsets for the next round. On random input std::partition mispredicts about half of
/// its branches, which made a partition pass cost more per element than std::sort's own
/// levels.
///
/// Invariant: [first, left) satisfies pred, [right, last) does not; a block being worked on
/// stays inside [left, right), so the final std::partition of what is left (at most two
/// blocks) sees every element not yet known to be placed.
template <class It, class Pred>
It block_partition(It first, It last, Pred& pred) {
  constexpr int kBlock = kPartitionBlock;
  unsigned char wrong_left[kBlock], wrong_right[kBlock];
  int left_start = 0, left_count = 0, right_start = 0, right_count = 0;
  It left = first, right = last;
  while (right - left > 2 * kBlock) {
    if (left_count == 0) {
      left_start = 0;
      for (int i = 0; i < kBlock; ++i) {
        wrong_left[left_count] = static_cast<unsigned char>(i);
        left_count += !pred(left[i]);
      }
    }
    if (right_count == 0) {
      right_start = 0;
      for (int i = 0; i < kBlock; ++i) {
        wrong_right[right_count] = static_cast<unsigned char>(i);
        right_count += pred(*(right - 1 - i)) ? 1 : 0;
      }
    }
    const int pairs = std::min(left_count, right_count);
    for (int i = 0; i < pairs; ++i)
      std::iter_swap(left + wrong_left[left_start + i], right - 1 - wrong_right[right_start + i]);
    left_count -= pairs;
    right_count -= pairs;
    left_start += pairs;
    right_start += pairs;
    if (left_count == 0) left += kBlock;
    if (right_count == 0) right -= kBlock;
  }
  return std::partition(left, right, pred);
}

/// Partitions [first, first+n) so that the elements satisfying `pred` come first and
/// returns their count. Above `grain` both halves are partitioned in parallel, leaving
///   [yes1 | no1 | yes2 | no2],
/// then the smaller of no1 and yes2 is swapped with the far end of the other, which puts
/// every yes before every no (the order inside each group does not matter).
template <class It, class Pred>
std::ptrdiff_t parallel_partition(It first, std::ptrdiff_t n, Pred& pred, std::ptrdiff_t grain,
                                  ErrorSlot& errors) noexcept {
  if (errors.cancelled()) return 0;
  if (n <= grain) {
    WASMPOOL_TRY {
      return block_partition(first, first + n, pred) - first;
    }
    WASMPOOL_CATCH_ALL {
      errors.capture(WASMPOOL_CURRENT_EXCEPTION);
    }
    return 0;
  }
  const std::ptrdiff_t half = n / 2;
  std::ptrdiff_t yes1 = 0, yes2 = 0;
  join_into(
      errors, [&]() noexcept { yes1 = parallel_partition(first, half, pred, grain, errors); },
      [&]() noexcept { yes2 = parallel_partition(first + half, n - half, pred, grain, errors); });
  if (errors.cancelled()) return 0;
  const std::ptrdiff_t no1 = half - yes1;
  const std::ptrdiff_t k = std::min(no1, yes2);
  // Swapping costs less per element than partitioning: finer pieces keep both threads busy.
  const auto swap_grain =
      static_cast<std::make_unsigned_t<std::ptrdiff_t>>(std::max(grain / 8, kSortMinChunk));
  It from = first + yes1, to = first + half + yes2 - k;
  auto swap_chunk = [&](std::ptrdiff_t lo, std::ptrdiff_t hi) {
    std::swap_ranges(from + lo, from + hi, to + lo);
  };
  split_range(std::ptrdiff_t{0}, k, swap_grain, swap_chunk, errors);
  return yes1 + yes2;
}

/// Moves a good pivot to *first: the median of up to kSortPivotSample elements spread
/// evenly over the range (exact for sorted and reversed input, within a few percent of the
/// median for random input, so the two sides get about equal work).
template <class It, class Comp>
void choose_pivot(It first, std::ptrdiff_t n, Comp& comp) {
  constexpr std::ptrdiff_t kSample = kSortPivotSample;
  std::array<It, kSample> sample;
  const std::ptrdiff_t count = std::min(n, kSample);
  for (std::ptrdiff_t i = 0; i < count; ++i) sample[i] = first + (n - 1) * i / (count - 1);
  auto by_value = [&comp](const It& x, const It& y) { return comp(*x, *y); };
  auto mid = sample.begin() + count / 2;
  std::nth_element(sample.begin(), mid, sample.begin() + count, by_value);
  std::iter_swap(first, *mid);
}

/// Sorts [first, first+n). `depth` bounds the partition levels: an input that keeps
/// defeating the sampled pivot falls back to std::sort (itself O(n log n)) rather than
/// going quadratic.
template <class It, class Comp>
void quick_sort(It first, std::ptrdiff_t n, Comp& comp, std::ptrdiff_t leaf, std::ptrdiff_t grain,
                int depth, ErrorSlot& errors) noexcept {
  while (!errors.cancelled()) {
    WASMPOOL_TRY {
      if (n <= leaf || depth == 0) {
        std::sort(first, first + n, comp);
        return;
      }
      --depth;
      choose_pivot(first, n, comp);
      // The pivot stays at *first, outside the partitioned range, so `pivot` stays valid.
      // Elements reach comp as the lvalues (or proxies) *it gives, as std::sort passes them:
      // a comparator taking non-const references works here too.
      auto&& pivot = *first;
      auto less = [&](auto&& x) { return comp(x, pivot); };
      std::ptrdiff_t lo = parallel_partition(first + 1, n - 1, less, grain, errors);
      if (errors.cancelled()) return;
      if (lo == 0) {
        // Nothing is less than the pivot, so it is the minimum: the elements equal to it
        // are in place. Skip them, else an input full of duplicates goes quadratic.
        auto not_greater = [&](auto&& x) { return !comp(pivot, x); };
        const std::ptrdiff_t eq = parallel_partition(first + 1, n - 1, not_greater, grain, errors);
        first += eq + 1;
        n -= eq + 1;
        continue;
      }
      std::iter_swap(first, first + lo);  // the pivot to its final place
      It right = first + lo + 1;
      const std::ptrdiff_t right_n = n - lo - 1;
      join_into(
          errors, [&]() noexcept { quick_sort(first, lo, comp, leaf, grain, depth, errors); },
          [&]() noexcept { quick_sort(right, right_n, comp, leaf, grain, depth, errors); });
      return;
    }
    WASMPOOL_CATCH_ALL {
      errors.capture(WASMPOOL_CURRENT_EXCEPTION);
      return;
    }
  }
}

}  // namespace detail

/// Sorts [first, last) with `comp` (a strict weak order), potentially in parallel. In place
/// (no scratch buffer) and not stable, like std::sort, with the same requirements on the
/// element type (move-constructible and move-assignable, swappable). Small inputs, and calls
/// without a pool, are std::sort.
///
/// If comp throws, the first exception is rethrown after all started work finished; the
/// range then holds valid but unspecified values, as after std::sort (whose insertion sort,
/// run on the leaves, holds one element aside while it shifts others).
template <class RandomIt, class Comp = std::less<>>
void parallel_sort(RandomIt first, RandomIt last, Comp comp = Comp{}) {
  const std::ptrdiff_t n = last - first;
  if (n <= detail::kSortSerialCutoff) {
    std::sort(first, last, comp);
    return;
  }
  detail::dispatch(
      [&](detail::WorkerThread& w) {
        const auto threads = static_cast<std::ptrdiff_t>(w.registry()->num_threads());
        if (threads == 1) {
          std::sort(first, last, comp);
          return;
        }
        // Sizes: see kSortLeavesPerWorker and kPartitionChunksPerWorker in config.hpp.
        const std::ptrdiff_t leaf =
            std::max(n / (detail::kSortLeavesPerWorker * threads), detail::kSortMinChunk);
        const std::ptrdiff_t grain =
            std::max(n / (detail::kPartitionChunksPerWorker * threads), detail::kSortMinChunk);
        // 2 floor(log2(n)) partition levels, as introsort allows.
        const int depth = 2 * (static_cast<int>(std::bit_width(static_cast<std::size_t>(n))) - 1);
        detail::ErrorSlot errors;
        detail::quick_sort(first, n, comp, leaf, grain, depth, errors);
        errors.rethrow_if_set();
      },
      [&] { std::sort(first, last, comp); });
}

}  // namespace wasmpool
