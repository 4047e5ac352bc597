// NewReno congestion control (RFC 5681 with RFC 3465 byte counting, as Linux's tcp_cong.c
// tcp_reno_cong_avoid), and the loss, undo and restart bookkeeping CUBIC shares with it.
#pragma once

#include <cstdint>

#include "tapsrv/tcp/congestion.hpp"

namespace tapsrv::tcp {

/// Reno's window, and the base of the other window-based algorithms: Linux's CUBIC likewise
/// reuses tcp_slow_start() and tcp_cong_avoid_ai(). A subclass changes how the window grows
/// (grow()) and how far it falls (loss_ssthresh()); the events stay the same.
///
/// During a reduction (on_congestion() until on_recovery_end()) cwnd() keeps its value from
/// before the loss, since the connection sends by PRR then; it falls to ssthresh() at the end.
class RenoCc : public CongestionControl {
 public:
  /// Preconditions: mss > 0.
  RenoCc(std::uint32_t mss, std::uint32_t initial_cwnd) noexcept;

  [[nodiscard]] CcKind kind() const noexcept override { return CcKind::Reno; }
  void on_ack(const AckSample& s) noexcept override;
  void on_congestion(Instant now, std::uint32_t in_flight) noexcept override;
  void on_recovery_end(Instant now) noexcept override;
  void on_rto(Instant now, std::uint32_t in_flight) noexcept override;
  void on_undo() noexcept override;
  void on_idle_restart(Instant now) noexcept override;
  [[nodiscard]] std::uint32_t cwnd() const noexcept override { return cwnd_; }
  [[nodiscard]] std::uint32_t ssthresh() const noexcept override { return ssthresh_; }

  [[nodiscard]] bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }
  /// Between on_congestion() and the end of that recovery.
  [[nodiscard]] bool is_reducing() const noexcept { return reducing_; }

  static constexpr std::uint32_t kInfiniteSsthresh = 0xffffffffU;  // Linux TCP_INFINITE_SSTHRESH
  static constexpr std::uint32_t kMaxCwnd = 1U << 30;              // Linux snd_cwnd_clamp's role

 protected:
  /// ssthresh for a loss or an ECN reaction at the current cwnd: Linux tcp_reno_ssthresh.
  virtual std::uint32_t loss_ssthresh() noexcept;
  /// Grows cwnd for `s` (only called when growth is allowed: cwnd-limited, not reducing).
  virtual void grow(const AckSample& s) noexcept;
  /// Linux tcp_slow_start: cwnd += acked, up to ssthresh; returns the bytes left over for
  /// congestion avoidance.
  std::uint32_t slow_start(std::uint32_t acked) noexcept;
  /// Linux tcp_cong_avoid_ai: one MSS for every `w` bytes acknowledged.
  void cong_avoid_ai(std::uint32_t w, std::uint32_t acked) noexcept;
  void set_cwnd(std::uint64_t bytes) noexcept;

  [[nodiscard]] std::uint32_t mss() const noexcept { return mss_; }
  [[nodiscard]] bool after_rto() const noexcept { return after_rto_; }
  /// Whether on_undo() would restore something, and the cwnd it would restore.
  [[nodiscard]] bool can_undo() const noexcept { return prior_ssthresh_ != 0; }
  [[nodiscard]] std::uint32_t prior_cwnd() const noexcept { return prior_cwnd_; }

  std::uint32_t cwnd_;
  std::uint32_t ssthresh_ = kInfiniteSsthresh;

 private:
  void reduce() noexcept;  // remember what undo restores, then lower ssthresh
  void end_reduction() noexcept;
  /// Linux tcp_current_ssthresh: outside a reduction, the window we had is worth returning to.
  [[nodiscard]] std::uint32_t current_ssthresh() const noexcept;

  std::uint32_t mss_;
  std::uint32_t initial_cwnd_;
  std::uint32_t cwnd_acked_ = 0;  // bytes acknowledged toward the next increase in avoidance
  // What undo restores (Linux prior_cwnd / prior_ssthresh); zero prior_ssthresh_: nothing.
  std::uint32_t prior_cwnd_ = 0;
  std::uint32_t prior_ssthresh_ = 0;
  bool reducing_ = false;   // on_congestion() seen, recovery not over (Linux CWR/Recovery)
  bool after_rto_ = false;  // on_rto() seen, its recovery not over (Linux TCP_CA_Loss)
};

}  // namespace tapsrv::tcp
