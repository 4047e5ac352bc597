// A token bucket for rate limits on what we send in answer to others (ICMP errors, later RSTs).
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "tapsrv/core/time.hpp"

namespace tapsrv {

/// Allows `burst` events at once and `per_second` on average. Time is passed in.
class TokenBucket {
 public:
  TokenBucket(std::uint32_t per_second, std::uint32_t burst) noexcept
      : per_second_{per_second}, burst_{burst}, tokens_{burst} {}

  /// Takes one token if there is one.
  [[nodiscard]] bool try_take(Instant now) noexcept {
    refill(now);
    if (tokens_ == 0) { return false; }
    --tokens_;
    return true;
  }

 private:
  void refill(Instant now) noexcept {
    if (!last_) {
      last_ = now;
      return;
    }
    const auto elapsed = std::chrono::duration_cast<Duration>(now - *last_).count();
    if (elapsed <= 0 || per_second_ == 0) { return; }
    const auto earned = static_cast<std::uint64_t>(elapsed) * per_second_ / 1'000'000;
    if (earned == 0) { return; }  // keep the remainder accumulating in `last_`
    tokens_ = static_cast<std::uint32_t>(std::min<std::uint64_t>(burst_, tokens_ + earned));
    // A full bucket earns nothing more; otherwise carry the unspent fraction of a token over.
    *last_ = tokens_ == burst_
                 ? now
                 : *last_ + Duration{static_cast<Duration::rep>(earned * 1'000'000 / per_second_)};
  }

  std::uint32_t per_second_;
  std::uint32_t burst_;
  std::uint32_t tokens_;
  std::optional<Instant> last_;
};

}  // namespace tapsrv
