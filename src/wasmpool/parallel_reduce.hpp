// parallel_reduce: a divide-and-conquer fold over an index range.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "wasmpool/parallel_for.hpp"

namespace wasmpool {
namespace detail {

/// Whether reduce_range cannot throw for this T (its handler catches the rest): then its
/// halves run through join_into, with no handler and no trampoline per level (join.hpp).
template <class T>
inline constexpr bool kReducesNothrow = (std::is_nothrow_copy_constructible_v<T> &&
                                         std::is_nothrow_move_constructible_v<T>);

template <class Index, class T, class Fold, class Combine>
T reduce_range(Index begin, Index end, std::make_unsigned_t<Index> grain, const T& identity,
               Fold& fold, Combine& combine, ErrorSlot& errors) noexcept(kReducesNothrow<T>) {
  using U = std::make_unsigned_t<Index>;
  if (errors.cancelled()) return identity;
  const U n = static_cast<U>(end) - static_cast<U>(begin);
  WASMPOOL_TRY {
    if (n <= grain) return fold(begin, end, T(identity));
    const Index mid = static_cast<Index>(static_cast<U>(begin) + n / 2);
    if constexpr (kReducesNothrow<T>) {
      std::optional<T> left;
      std::optional<T> right;
      join_into(
          errors,
          [&]() noexcept {
            left.emplace(reduce_range(begin, mid, grain, identity, fold, combine, errors));
          },
          [&]() noexcept {
            right.emplace(reduce_range(mid, end, grain, identity, fold, combine, errors));
          });
      if (errors.cancelled()) return identity;
      return combine(std::move(*left), std::move(*right));
    } else {
      auto [left, right] =
          join([&] { return reduce_range(begin, mid, grain, identity, fold, combine, errors); },
               [&] { return reduce_range(mid, end, grain, identity, fold, combine, errors); });
      if (errors.cancelled()) return identity;
      return combine(std::move(left), std::move(right));
    }
  }
  WASMPOOL_CATCH_ALL {
    errors.capture(WASMPOOL_CURRENT_EXCEPTION);
    return identity;
  }
}

}  // namespace detail

/// Reduces the index range [begin, end), potentially in parallel:
///
///   fold(lo, hi, acc) -> T      folds the indices [lo, hi) into acc (which starts as a copy
///                               of `identity`) and returns it; a chunk has at most `grain`
///                               indices (grain == 0: automatic). Writing the inner loop
///                               yourself lets the compiler vectorise it.
///   combine(T left, T right)    combines two partial results (left's indices come first).
///
/// combine must be associative and `identity` its neutral element; the split points are not
/// specified, so the result is deterministic only if combine is (floating-point sums may
/// differ from a serial loop in the last bits). T must be copyable.
/// The first exception thrown by fold or combine is rethrown once all started work has
/// finished; chunks not yet started are skipped.
///
/// Example (sum of v):
///   parallel_reduce(size_t{0}, v.size(), size_t{0}, 0LL,
///       [&](size_t lo, size_t hi, long long acc) { for (; lo < hi; ++lo) acc += v[lo]; return acc;
///       }, std::plus<>{});
template <class Index, class T, class Fold, class Combine>
T parallel_reduce(Index begin, Index end, Index grain, T identity, Fold&& fold, Combine&& combine) {
  static_assert(std::is_integral_v<Index>, "parallel_reduce needs an integral index type");
  if (!(begin < end)) return identity;
  using U = std::make_unsigned_t<Index>;
  const U n = static_cast<U>(end) - static_cast<U>(begin);
  return detail::dispatch(
      [&](detail::WorkerThread& w) -> T {
        const U g =
            detail::resolve_grain<U>(n, detail::grain_of(grain), w.registry()->num_threads());
        detail::ErrorSlot errors;
        T result = detail::reduce_range(begin, end, g, identity, fold, combine, errors);
        errors.rethrow_if_set();
        return result;
      },
      [&]() -> T { return fold(begin, end, T(identity)); });
}

/// The per-index form: `map(i) -> T` for each index, combined with `combine`.
/// Equivalent to parallel_reduce with fold = acc = combine(acc, map(i)) over each chunk.
template <class Index, class T, class Map, class Combine>
T parallel_map_reduce(Index begin, Index end, Index grain, T identity, Map&& map,
                      Combine&& combine) {
  return parallel_reduce(
      begin, end, grain, std::move(identity),
      [&](Index lo, Index hi, T acc) {
        for (Index i = lo; i < hi; ++i) acc = combine(std::move(acc), map(i));
        return acc;
      },
      combine);
}

}  // namespace wasmpool
