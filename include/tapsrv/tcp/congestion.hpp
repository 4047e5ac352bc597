// Congestion control behind one small interface (Linux tcp_congestion_ops, gVisor
// congestionControl): the connection reports ACKs, losses and timeouts; the algorithm owns cwnd,
// ssthresh and, where it wants one, a pacing rate. Loss *detection* (scoreboard, RACK) and the
// window during fast recovery (PRR, RFC 6937) live in the connection, not here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "tapsrv/core/time.hpp"

namespace tapsrv::tcp {

/// Which algorithm a connection uses (`--cc`). Cubic is Linux's default.
enum class CcKind : std::uint8_t { Reno, Cubic, Bbr };

/// "reno", "cubic" or "bbr"; nullopt for anything else.
[[nodiscard]] std::optional<CcKind> parse_cc_kind(std::string_view name) noexcept;
[[nodiscard]] std::string_view name(CcKind kind) noexcept;

/// A delivery-rate sample for one ACK, as Linux's tcp_rate.c computes it
/// (draft-cheng-iccrg-delivery-rate-estimation): `delivered` bytes over `interval`.
struct RateSample {
  std::uint64_t delivered = 0;        // bytes delivered during interval
  Duration interval{};                // zero or negative: no valid sample from this ACK
  std::uint64_t prior_delivered = 0;  // C.delivered when the sampled segment was sent
  bool is_app_limited = false;        // the sampled segment was sent while app-limited
  [[nodiscard]] bool valid() const noexcept { return interval > Duration{0}; }
};

/// What one ACK (cumulative or SACK) told the sender. Byte counts are payload bytes.
struct AckSample {
  Instant now{};
  std::uint32_t acked = 0;            // newly delivered by this ACK, cumulatively or by SACK
  std::uint32_t lost = 0;             // newly marked lost while processing this ACK
  std::uint32_t prior_in_flight = 0;  // pipe (RFC 6675) before this ACK
  std::uint32_t in_flight = 0;        // pipe after it
  std::uint64_t delivered = 0;        // C.delivered: bytes delivered over the connection's life
  std::optional<Duration> rtt;        // Karn-clean RTT sample carried by this ACK, if any
  Duration min_rtt{};                 // smallest RTT seen recently (zero before any sample)
  Duration srtt{};                    // RFC 6298 smoothed RTT (zero before any sample)
  bool in_recovery = false;           // fast recovery or recovery after a timeout
  bool cwnd_limited = false;          // the last flight filled cwnd (RFC 7661 §4.3)
  RateSample rate{};
};

/// Packet-timed round trips, counted from delivery as Linux's tcp_bbr.c bbr_update_bw does: a
/// round ends when an ACK's sampled segment was sent after the round began, i.e. when
/// `rate.prior_delivered >= next_round_delivered`; the next round then ends with what is
/// delivered by now. Only ACKs with a valid rate sample count (Linux skips the others too).
class RoundCounter {
 public:
  /// True when `s` starts a new round.
  bool on_ack(const AckSample& s) noexcept {
    if (!s.rate.valid() || s.rate.prior_delivered < next_round_delivered_) { return false; }
    next_round_delivered_ = s.delivered;
    ++count_;
    return true;
  }
  /// Starts a round now: it ends once what is delivered by now has been delivered (Linux does
  /// this on entering recovery and PROBE_RTT).
  void restart(std::uint64_t delivered) noexcept { next_round_delivered_ = delivered; }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }

 private:
  std::uint64_t next_round_delivered_ = 0;
  std::uint64_t count_ = 0;
};

/// One connection's congestion controller. Pure: time comes in as arguments.
class CongestionControl {
 public:
  virtual ~CongestionControl() = default;
  [[nodiscard]] virtual CcKind kind() const noexcept = 0;

  /// Every ACK that delivers data or reports a loss, in every phase. Window-based algorithms
  /// grow cwnd here only when `!s.in_recovery` (Linux tcp_may_raise_cwnd); BBR uses them all.
  virtual void on_ack(const AckSample& s) noexcept = 0;
  /// Fast recovery begins (RFC 6675 / RFC 8985 loss, or RFC 3168 ECN-Echo): set ssthresh.
  /// During recovery the connection sends by PRR when uses_prr(); on_recovery_end() then
  /// leaves cwnd at ssthresh (RFC 6937 §3, Linux tcp_end_cwnd_reduction).
  virtual void on_congestion(Instant now, std::uint32_t in_flight) noexcept = 0;
  virtual void on_recovery_end(Instant now) noexcept = 0;
  /// A retransmission timeout: RFC 5681 (4), cwnd = one segment (BBR: its own rule).
  virtual void on_rto(Instant now, std::uint32_t in_flight) noexcept = 0;
  /// The last reduction was spurious (DSACK or Eifel): restore what it took (Linux undo_cwnd).
  virtual void on_undo() noexcept = 0;
  /// The connection sent after being idle longer than an RTO (RFC 5681 §4.1, RFC 7661).
  virtual void on_idle_restart(Instant now) noexcept = 0;

  [[nodiscard]] virtual std::uint32_t cwnd() const noexcept = 0;
  [[nodiscard]] virtual std::uint32_t ssthresh() const noexcept = 0;
  /// Bytes per second the connection should pace at; nullopt: send as the window allows.
  [[nodiscard]] virtual std::optional<std::uint64_t> pacing_rate() const noexcept { return {}; }
  /// Whether the connection's PRR sets the window during recovery (true for the loss-based
  /// algorithms; BBR keeps its own window there, as Linux's cong_control does).
  [[nodiscard]] virtual bool uses_prr() const noexcept { return true; }
};

/// `mss`: the payload size of a full segment; `initial_cwnd`: bytes (RFC 6928: 10 segments).
/// `seed` draws BBR's random gain-cycle phase (Linux uses prandom_u32_max there); the engine
/// is pure, so pass something that differs per connection, such as the ISN. Others ignore it.
[[nodiscard]] std::unique_ptr<CongestionControl> make_congestion_control(CcKind kind,
                                                                         std::uint32_t mss,
                                                                         std::uint32_t initial_cwnd,
                                                                         std::uint64_t seed = 0);

}  // namespace tapsrv::tcp
