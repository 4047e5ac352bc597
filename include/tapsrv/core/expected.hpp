// A minimal std::expected stand-in until the project moves to C++23.
#pragma once

#include <utility>
#include <variant>

namespace tapsrv {

/// Holds either a value or an error. T and E must be distinct types.
template <class T, class E>
class Expected {
 public:
  constexpr Expected(T value) noexcept : v_{std::in_place_index<0>, std::move(value)} {}
  constexpr Expected(E error) noexcept : v_{std::in_place_index<1>, error} {}

  [[nodiscard]] constexpr bool has_value() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  /// Precondition: has_value().
  constexpr const T& operator*() const noexcept { return *std::get_if<0>(&v_); }
  constexpr const T* operator->() const noexcept { return std::get_if<0>(&v_); }
  /// Precondition: !has_value().
  constexpr E error() const noexcept { return *std::get_if<1>(&v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace tapsrv
