// parallel_sort: a parallel merge sort (std::sort on the leaves, parallel merges above).
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>

#include "wasmpool/join.hpp"
#include "wasmpool/parallel_for.hpp"

namespace wasmpool {
namespace detail {

/// Merges sorted [a, a+na) and [b, b+nb) into out (moving), splitting the larger input at
/// its middle and the smaller one at the matching bound, so both halves of the output can
/// be produced in parallel.
template <class It1, class It2, class Out, class Comp>
void parallel_merge(It1 a, std::ptrdiff_t na, It2 b, std::ptrdiff_t nb, Out out, Comp& comp,
                    std::ptrdiff_t grain, ErrorSlot& errors) noexcept {
  if (errors.cancelled()) return;
  WASMPOOL_TRY {
    if (na + nb <= grain) {
      std::merge(std::make_move_iterator(a), std::make_move_iterator(a + na),
                 std::make_move_iterator(b), std::make_move_iterator(b + nb), out, comp);
      return;
    }
    std::ptrdiff_t ma, mb;
    if (na >= nb) {
      ma = na / 2;
      mb = std::lower_bound(b, b + nb, a[ma], comp) - b;  // b's elements < a[ma] go left
    } else {
      mb = nb / 2;
      ma = std::upper_bound(a, a + na, b[mb], comp) - a;  // a's elements <= b[mb] go left
    }
    join_into(
        errors, [&]() noexcept { parallel_merge(a, ma, b, mb, out, comp, grain, errors); },
        [&]() noexcept {
          parallel_merge(a + ma, na - ma, b + mb, nb - mb, out + (ma + mb), comp, grain, errors);
        });
  }
  WASMPOOL_CATCH_ALL {
    errors.capture(WASMPOOL_CURRENT_EXCEPTION);
  }
}

/// Sorts [data, data+n). The sorted result ends up in `data` if to_data, else in `buf`
/// (both have n elements). Children leave their results in the *other* array, so each level
/// merges from one array into the other (ping-pong) and nothing is copied back.
template <class It, class T, class Comp>
void merge_sort(It data, T* buf, std::ptrdiff_t n, bool to_data, Comp& comp, std::ptrdiff_t leaf,
                std::ptrdiff_t merge_grain, ErrorSlot& errors) noexcept {
  if (errors.cancelled()) return;
  WASMPOOL_TRY {
    if (n <= leaf) {
      std::sort(data, data + n, comp);
      if (!to_data) std::move(data, data + n, buf);
      return;
    }
    const std::ptrdiff_t half = n / 2;
    join_into(
        errors,
        [&]() noexcept { merge_sort(data, buf, half, !to_data, comp, leaf, merge_grain, errors); },
        [&]() noexcept {
          merge_sort(data + half, buf + half, n - half, !to_data, comp, leaf, merge_grain, errors);
        });
    if (errors.cancelled()) return;
    if (to_data) {
      parallel_merge(buf, half, buf + half, n - half, data, comp, merge_grain, errors);
    } else {
      parallel_merge(data, half, data + half, n - half, buf, comp, merge_grain, errors);
    }
  }
  WASMPOOL_CATCH_ALL {
    errors.capture(WASMPOOL_CURRENT_EXCEPTION);
  }
}

}  // namespace detail

/// Sorts [first, last) with `comp` (a strict weak order), potentially in parallel. Not
/// stable, like std::sort. RandomIt: random-access iterators whose value type is
/// default-constructible and move-assignable (a scratch buffer of the same size is
/// allocated); otherwise, and for small inputs or without a pool, it is std::sort.
///
/// If comp throws, the first exception is rethrown after all started work finished; the
/// range then holds valid but unspecified values (elements may be moved-from).
template <class RandomIt, class Comp = std::less<>>
void parallel_sort(RandomIt first, RandomIt last, Comp comp = Comp{}) {
  using T = typename std::iterator_traits<RandomIt>::value_type;
  const std::ptrdiff_t n = last - first;
  if constexpr (!std::is_default_constructible_v<T>) {
    std::sort(first, last, comp);
    return;
  } else {
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
          // Sizes: see kSortLeavesPerWorker and kMergeChunksPerWorker in config.hpp.
          const std::ptrdiff_t leaf =
              std::max(n / (detail::kSortLeavesPerWorker * threads), detail::kSortMinChunk);
          const std::ptrdiff_t merge_grain =
              std::max(n / (detail::kMergeChunksPerWorker * threads), detail::kSortMinChunk);
          std::unique_ptr<T[]> buf(new T[static_cast<std::size_t>(n)]);
          detail::ErrorSlot errors;
          detail::merge_sort(first, buf.get(), n, true, comp, leaf, merge_grain, errors);
          errors.rethrow_if_set();
        },
        [&] { std::sort(first, last, comp); });
  }
}

}  // namespace wasmpool
