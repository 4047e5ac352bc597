// CUBIC congestion control (RFC 9438; compare Linux net/ipv4/tcp_cubic.c) with HyStart++ in
// the first slow start (RFC 9406).
#pragma once

#include <cstdint>
#include <optional>

#include "tapsrv/tcp/cc_reno.hpp"

namespace tapsrv::tcp {

/// RFC 9438's constants and switches; the defaults are the RFC's recommendations.
struct CubicParams {
  double c = 0.4;                // §4.1 C, segments / s^3
  double beta = 0.7;             // §4.6 β_cubic
  bool fast_convergence = true;  // §4.7
  bool hystart = true;           // RFC 9406 in the first slow start
};

/// Where HyStart++ is: standard slow start, Conservative Slow Start, or finished (congestion
/// avoidance, a later slow start, or HyStart++ switched off).
enum class HystartPhase : std::uint8_t { SlowStart, Css, Done };

/// Windows in RFC 9438's own unit, segments of the MSS, in the accessors; cwnd() is in bytes.
class CubicCc final : public RenoCc {
 public:
  /// Preconditions: mss > 0, 0 < beta < 1, c > 0.
  CubicCc(std::uint32_t mss, std::uint32_t initial_cwnd, CubicParams params = {}) noexcept;

  [[nodiscard]] CcKind kind() const noexcept override { return CcKind::Cubic; }
  void on_ack(const AckSample& s) noexcept override;
  void on_congestion(Instant now, std::uint32_t in_flight) noexcept override;
  void on_rto(Instant now, std::uint32_t in_flight) noexcept override;
  void on_undo() noexcept override;
  void on_idle_restart(Instant now) noexcept override;

  /// W_max (§4.1): the window before the last reduction, after fast convergence; 0 when
  /// none is known (no loss yet, or since an RTO, which starts afresh as §4.8 says).
  [[nodiscard]] double w_max() const noexcept { return w_max_; }
  /// K (§4.2 eq. 2) of the current congestion-avoidance epoch, in seconds.
  [[nodiscard]] double k() const noexcept { return k_; }
  /// W_est (§4.3), the Reno-friendly estimate of the current epoch.
  [[nodiscard]] double w_est() const noexcept { return w_est_; }
  /// Start of the current congestion-avoidance epoch, shifted past idle and app-limited time.
  [[nodiscard]] std::optional<Instant> epoch_start() const noexcept { return epoch_; }
  [[nodiscard]] HystartPhase hystart_phase() const noexcept { return phase_; }

 protected:
  std::uint32_t loss_ssthresh() noexcept override;
  void grow(const AckSample& s) noexcept override;

 private:
  struct Epoch {  // what a spurious reduction restores (§4.9)
    double w_max = 0, k = 0, origin = 0, w_est = 0, cwnd_prior = 0;
    std::optional<Instant> start;
  };
  void congestion_avoidance(const AckSample& s, std::uint32_t acked) noexcept;
  void start_epoch(Instant now, double cwnd_segments) noexcept;
  [[nodiscard]] double w_cubic(double t) const noexcept;
  void hystart_on_ack(const AckSample& s, bool round_start) noexcept;
  void hystart_exit() noexcept;
  void add_bytes(double bytes) noexcept;
  [[nodiscard]] double segments() const noexcept;

  CubicParams params_;
  double alpha_aimd_;  // §4.3: 3 (1 - β) / (1 + β)
  // RFC 9438 state, in segments and seconds.
  double w_max_ = 0;
  double k_ = 0;
  double origin_ = 0;  // the curve's plateau: W_max, or cwnd_start when that is larger
  double w_est_ = 0;
  double cwnd_prior_ = 0;  // cwnd when ssthresh was last set (§4.3's switch of α to 1)
  std::optional<Instant> epoch_;
  Epoch prior_;
  double carry_ = 0;  // the fraction of a byte the last increase did not add
  std::optional<Instant> last_ack_;
  // HyStart++ (RFC 9406 §4.2).
  HystartPhase phase_;
  RoundCounter rounds_;
  std::optional<Duration> last_round_min_rtt_;
  std::optional<Duration> current_round_min_rtt_;
  std::optional<Duration> css_baseline_min_rtt_;
  std::uint32_t rtt_sample_count_ = 0;
  std::uint32_t css_rounds_ = 0;
};

}  // namespace tapsrv::tcp
