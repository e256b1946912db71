// parallel_for over an index range, by recursive halving with join().
#pragma once

#include <cstddef>
#include <type_traits>

#include "wasmpool/join.hpp"

namespace wasmpool {
namespace detail {

/// grain == 0 picks about kChunksPerWorker chunks per worker (config.hpp says why).
template <class Size>
Size resolve_grain(Size n, Size grain, std::size_t threads) {
  if (grain > 0) return grain;
  const Size chunks = static_cast<Size>(threads * kChunksPerWorker);
  const Size g = n / (chunks == 0 ? 1 : chunks);
  return g == 0 ? Size{1} : g;
}

/// A user-supplied grain as an unsigned count (negative means automatic).
template <class Index>
std::make_unsigned_t<Index> grain_of(Index grain) noexcept {
  if constexpr (std::is_signed_v<Index>) {
    if (grain < 0) return 0;
  }
  return static_cast<std::make_unsigned_t<Index>>(grain);
}

inline std::size_t current_threads() noexcept {
  WorkerThread* w = WorkerThread::current();
  return w == nullptr ? 1 : w->registry()->num_threads();
}

/// The recursive splitter shared by parallel_for and friends. Leaves never throw: the first
/// exception goes into `errors` (the group), whose flag also stops further splitting and
/// skips leaves that have not started (cooperative cancellation).
template <class Index, class Leaf>
void split_range(Index begin, Index end, std::make_unsigned_t<Index> grain, Leaf& leaf,
                 ErrorSlot& errors) noexcept {
  using U = std::make_unsigned_t<Index>;
  if (errors.cancelled()) return;
  const U n = static_cast<U>(end) - static_cast<U>(begin);
  if (n <= grain) {
    WASMPOOL_TRY {
      leaf(begin, end);
    }
    WASMPOOL_CATCH_ALL {
      errors.capture(WASMPOOL_CURRENT_EXCEPTION);
    }
    return;
  }
  const Index mid = static_cast<Index>(static_cast<U>(begin) + n / 2);
  // Only the leaf needs a handler: both halves record their failures in `errors`.
  join_into(
      errors, [&]() noexcept { split_range(begin, mid, grain, leaf, errors); },
      [&]() noexcept { split_range(mid, end, grain, leaf, errors); });
}

}  // namespace detail

/// Calls `f(lo, hi)` for disjoint subranges [lo, hi) covering [begin, end), each of at most
/// `grain` indices (grain == 0: automatic), potentially in parallel. Index: an integral type.
/// The first exception thrown by f is rethrown once every started chunk has finished;
/// chunks not yet started are skipped.
template <class Index, class F>
void parallel_for_range(Index begin, Index end, Index grain, F&& f) {
  static_assert(std::is_integral_v<Index>, "parallel_for needs an integral index type");
  if (!(begin < end)) return;
  using U = std::make_unsigned_t<Index>;
  const U n = static_cast<U>(end) - static_cast<U>(begin);
  detail::dispatch(
      [&](detail::WorkerThread& w) {
        const U g =
            detail::resolve_grain<U>(n, detail::grain_of(grain), w.registry()->num_threads());
        detail::ErrorSlot errors;
        detail::split_range(begin, end, g, f, errors);
        errors.rethrow_if_set();
      },
      [&] { f(begin, end); });
}

/// Calls `f(i)` for every i in [begin, end), potentially in parallel, in chunks of at most
/// `grain` consecutive indices (grain == 0: automatic). Exceptions: as parallel_for_range.
template <class Index, class F>
void parallel_for(Index begin, Index end, Index grain, F&& f) {
  parallel_for_range(begin, end, grain, [&f](Index lo, Index hi) {
    for (Index i = lo; i < hi; ++i) f(i);
  });
}

}  // namespace wasmpool
