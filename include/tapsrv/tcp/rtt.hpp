// The retransmission timeout estimator of RFC 6298.
#pragma once

#include <algorithm>

#include "tapsrv/core/time.hpp"

namespace tapsrv::tcp {

class RttEstimator {
 public:
  RttEstimator(Duration initial, Duration min, Duration max) noexcept
      : rto_{initial}, initial_{initial}, min_{min}, max_{max} {}

  /// RFC 6298 (2.2) and (2.3); the clock granularity G is our 1 µs tick, so it never dominates.
  void sample(Duration r) noexcept {
    if (!has_sample_) {
      srtt_ = r;
      rttvar_ = r / 2;
      has_sample_ = true;
    } else {
      const Duration err = srtt_ > r ? srtt_ - r : r - srtt_;
      rttvar_ = (3 * rttvar_ + err) / 4;
      srtt_ = (7 * srtt_ + r) / 8;
    }
    rto_ = std::clamp(srtt_ + std::max(Duration{1}, 4 * rttvar_), min_, max_);
    backoff_ = 0;
  }
  /// An ACK advanced SND.UNA: the path works again, so the backed-off RTO collapses to the
  /// estimate (RFC 6298 §5 note; Linux clears icsk_backoff in tcp_ack).
  void reset_backoff() noexcept {
    if (backoff_ == 0) { return; }
    backoff_ = 0;
    rto_ =
        has_sample_ ? std::clamp(srtt_ + std::max(Duration{1}, 4 * rttvar_), min_, max_) : initial_;
  }
  /// RFC 6298 (5.5): double the RTO on a timeout, up to the maximum.
  void back_off() noexcept {
    ++backoff_;
    rto_ = std::min(rto_ * 2, max_);
  }
  [[nodiscard]] Duration rto() const noexcept { return rto_; }
  [[nodiscard]] Duration srtt() const noexcept { return srtt_; }
  [[nodiscard]] Duration rttvar() const noexcept { return rttvar_; }
  [[nodiscard]] bool has_sample() const noexcept { return has_sample_; }
  [[nodiscard]] unsigned backoffs() const noexcept { return backoff_; }

 private:
  Duration srtt_{};
  Duration rttvar_{};
  Duration rto_;
  Duration initial_;
  Duration min_;
  Duration max_;
  unsigned backoff_ = 0;
  bool has_sample_ = false;
};

}  // namespace tapsrv::tcp
