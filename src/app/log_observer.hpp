// Stack events as log lines for a person: ARP at info, every TCP state change at info, and
// every segment at debug. A remote peer decides how many of these happen, so each kind it can
// drive has its own rate limit, and what is held back is counted (log_lines_suppressed).
#pragma once

#include <array>
#include <cstdint>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/core/token_bucket.hpp"
#include "tapsrv/io/clock.hpp"
#include "tapsrv/link/link_observer.hpp"
#include "tapsrv/tcp/outbox.hpp"

namespace tapsrv::app {

class LogObserver final : public link::LinkObserver, public tcp::Observer {
 public:
  using Clock = Instant (*)();
  /// `segments`: log one line per TCP segment in and out (debug level; asked for, so not
  /// limited). `stats` must outlive the observer; `clock` times the rate limits.
  LogObserver(bool segments, Stats& stats, Clock clock = io::clock_now);

  void on_neighbor_learned(wire::Ipv4Addr ip, wire::MacAddr mac, bool changed) override;
  void on_neighbor_unreachable(wire::Ipv4Addr ip, std::size_t dropped_frames) override;
  void on_address_conflict(wire::Ipv4Addr ip, wire::MacAddr mac) override;

  void on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to, tcp::Cause cause,
                     const wire::TcpSegment* seg) override;
  void on_segment(const tcp::FourTuple& id, bool outgoing, const wire::TcpSegment& seg) override;
  [[nodiscard]] bool wants_segments() const noexcept override { return segments_; }

  /// The lines a peer can drive, each with its own budget.
  enum class Kind : std::uint8_t { Transition, Learned, Unreachable, Conflict, kCount };

 private:
  static constexpr std::size_t kKinds = static_cast<std::size_t>(Kind::kCount);
  /// Whether a line of `kind` at `level` is to be written: false when the level is off (then
  /// the caller builds no text at all) or the kind is over its rate (counted as suppressed).
  [[nodiscard]] bool admit(Kind kind, int level);

  bool segments_;
  Stats& stats_;
  Clock clock_;
  std::array<TokenBucket, kKinds> limits_;
  std::array<std::uint64_t, kKinds> held_back_{};  // since the kind's last line
};

}  // namespace tapsrv::app
