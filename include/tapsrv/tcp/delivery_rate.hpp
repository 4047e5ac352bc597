// Delivery-rate estimation (Linux net/ipv4/tcp_rate.c; draft-cheng-iccrg-delivery-rate-
// estimation): each ACK yields bytes delivered over the longer of the send and ACK phases of
// the most recently sent segment it covers. BBR's bandwidth filter feeds on these samples.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/congestion.hpp"
#include "tapsrv/tcp/scoreboard.hpp"

namespace tapsrv::tcp {

class DeliveryRate {
 public:
  /// What a segment sent now records (tcp_rate_skb_sent); `idle`: nothing was in flight.
  [[nodiscard]] TxStamp on_send(Instant now, bool idle) noexcept {
    if (idle) {
      first_tx_ = now;
      delivered_time_ = now;
    }
    return TxStamp{.delivered = delivered_,
                   .delivered_time = delivered_time_,
                   .first_tx = first_tx_,
                   .app_limited = app_limited_ != 0};
  }
  /// One segment newly delivered (tcp_rate_skb_delivered): the most recently sent of them
  /// defines the sample.
  void on_delivered(const SentSegment& s, std::uint32_t bytes) noexcept {
    delivered_ += bytes;
    if (!has_prior_ || s.xmit > first_tx_ || (s.xmit == first_tx_ && last_end_ < s.end())) {
      has_prior_ = true;
      prior_delivered_ = s.tx.delivered;
      prior_time_ = s.tx.delivered_time;
      is_app_limited_ = s.tx.app_limited;
      last_end_ = s.end();
      first_tx_ = s.xmit;
      send_phase_ = s.xmit - s.tx.first_tx;
    }
  }
  /// The sample of the ACK just processed (tcp_rate_gen); resets for the next one.
  [[nodiscard]] RateSample take_sample(Instant now, Duration min_rtt, bool delivered_any) noexcept {
    if (app_limited_ != 0 && delivered_ > app_limited_) { app_limited_ = 0; }
    if (delivered_any) { delivered_time_ = now; }
    RateSample rs;
    if (has_prior_) {
      rs.prior_delivered = prior_delivered_;
      rs.is_app_limited = is_app_limited_;
      rs.delivered = delivered_ - prior_delivered_;
      rs.interval = std::max(send_phase_, now - prior_time_);
      // Shorter than the minimum RTT: an ACK compression artefact, not a rate (tcp_rate_gen).
      if (rs.interval < min_rtt) { rs.interval = Duration{0}; }
    }
    has_prior_ = false;
    return rs;
  }
  /// Nothing more to send and room in the window: samples until this data is delivered
  /// describe the application, not the path (tcp_rate_check_app_limited).
  void mark_app_limited(std::uint32_t in_flight) noexcept {
    app_limited_ = std::max<std::uint64_t>(delivered_ + in_flight, 1);
  }
  [[nodiscard]] std::uint64_t delivered() const noexcept { return delivered_; }

 private:
  std::uint64_t delivered_ = 0;  // C.delivered
  Instant delivered_time_{};     // C.delivered_time
  Instant first_tx_{};           // C.first_tx_time
  std::uint64_t app_limited_ = 0;
  // The sample being built for the current ACK.
  bool has_prior_ = false;
  std::uint64_t prior_delivered_ = 0;
  Instant prior_time_{};
  bool is_app_limited_ = false;
  wire::SeqNum last_end_{};
  Duration send_phase_{};
};

}  // namespace tapsrv::tcp
