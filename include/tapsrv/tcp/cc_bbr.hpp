// BBR v1 congestion control as Linux's net/ipv4/tcp_bbr.c: a model of the path (windowed max
// delivery rate, windowed min RTT) sets a pacing rate and a window; losses barely matter.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "tapsrv/tcp/congestion.hpp"

namespace tapsrv::tcp {

/// Kathleen Nichols' windowed max of (time, value) samples, keeping the best three of the
/// window's sub-windows: Linux lib/win_minmax.c minmax_running_max. Time here is BBR's
/// round count.
class WindowedMax {
 public:
  /// Adds `value` measured at `t`; samples older than `window` stop counting.
  /// Preconditions: `t` never decreases.
  std::uint64_t update(std::uint64_t window, std::uint64_t t, std::uint64_t value) noexcept;
  [[nodiscard]] std::uint64_t get() const noexcept { return s_[0].v; }
  void reset(std::uint64_t t, std::uint64_t value) noexcept;

 private:
  struct Sample {
    std::uint64_t t = 0, v = 0;
  };
  std::array<Sample, 3> s_{};
};

enum class BbrMode : std::uint8_t { Startup, Drain, ProbeBw, ProbeRtt };

struct BbrParams {
  std::uint64_t seed = 0;  // for the random start of the PROBE_BW gain cycle
  // The largest TSO/GSO burst bbr_tso_segs_goal() plans for (Linux GSO_MAX_SIZE, ~64 KiB).
  std::uint32_t tso_max_bytes = 64 * 1024;
};

/// Gains are fixed-point with 8 fractional bits, as in Linux (BBR_UNIT = 256).
class BbrCc final : public CongestionControl {
 public:
  static constexpr std::uint32_t kUnit = 256;
  static constexpr std::uint32_t kHighGain = kUnit * 2885 / 1000 + 1;  // 2/ln(2)
  static constexpr std::uint32_t kDrainGain = kUnit * 1000 / 2885;
  static constexpr std::uint32_t kCwndGain = kUnit * 2;
  static constexpr std::array<std::uint32_t, 8> kPacingGain = {
      kUnit * 5 / 4, kUnit * 3 / 4, kUnit, kUnit, kUnit, kUnit, kUnit, kUnit};

  /// Preconditions: mss > 0.
  BbrCc(std::uint32_t mss, std::uint32_t initial_cwnd, BbrParams params = {}) noexcept;

  [[nodiscard]] CcKind kind() const noexcept override { return CcKind::Bbr; }
  void on_ack(const AckSample& s) noexcept override;
  void on_congestion(Instant now, std::uint32_t in_flight) noexcept override;
  void on_recovery_end(Instant now) noexcept override;
  void on_rto(Instant now, std::uint32_t in_flight) noexcept override;
  void on_undo() noexcept override;
  void on_idle_restart(Instant now) noexcept override;
  [[nodiscard]] std::uint32_t cwnd() const noexcept override { return cwnd_; }
  [[nodiscard]] std::uint32_t ssthresh() const noexcept override { return ssthresh_; }
  [[nodiscard]] std::optional<std::uint64_t> pacing_rate() const noexcept override {
    return pacing_rate_;
  }
  [[nodiscard]] bool uses_prr() const noexcept override { return false; }

  [[nodiscard]] BbrMode mode() const noexcept { return mode_; }
  /// Bottleneck bandwidth estimate, bytes per second (the windowed max).
  [[nodiscard]] std::uint64_t bw() const noexcept { return bw_.get(); }
  [[nodiscard]] std::optional<Duration> min_rtt() const noexcept { return min_rtt_; }
  [[nodiscard]] std::uint32_t pacing_gain() const noexcept { return pacing_gain_; }
  [[nodiscard]] std::uint32_t cwnd_gain() const noexcept { return cwnd_gain_; }
  [[nodiscard]] unsigned cycle_index() const noexcept { return cycle_idx_; }
  [[nodiscard]] bool full_bw_reached() const noexcept { return full_bw_reached_; }
  [[nodiscard]] std::uint64_t round_count() const noexcept { return rounds_.count(); }
  /// Linux bbr_rate_bytes_per_sec: `bw` × gain, 1% under (bbr_pacing_margin_percent).
  [[nodiscard]] static std::uint64_t rate_with_gain(std::uint64_t bw, std::uint32_t gain) noexcept;

 private:
  // Linux's TCP_CA_* states that matter here, in Linux's order.
  enum class CaState : std::uint8_t { Open = 0, Recovery = 3, Loss = 4 };

  void update_model(const AckSample& s, bool app_limited) noexcept;
  void update_bw(const AckSample& s, bool app_limited) noexcept;
  void update_ack_aggregation(const AckSample& s) noexcept;
  void update_cycle_phase(const AckSample& s) noexcept;
  [[nodiscard]] bool is_next_cycle_phase(const AckSample& s) const noexcept;
  void advance_cycle_phase(Instant now) noexcept;
  void check_full_bw_reached(bool app_limited) noexcept;
  void check_drain(const AckSample& s) noexcept;
  void update_min_rtt(const AckSample& s) noexcept;
  void check_probe_rtt_done(Instant now) noexcept;
  void update_gains() noexcept;
  void set_pacing_rate(std::uint64_t bw, std::uint32_t gain, Duration srtt) noexcept;
  void init_pacing_rate_from_rtt(Duration srtt) noexcept;
  void set_cwnd(const AckSample& s, CaState state, std::uint64_t bw, std::uint32_t gain) noexcept;
  bool set_cwnd_to_recover_or_restore(const AckSample& s, CaState state,
                                      std::uint64_t& new_cwnd) noexcept;
  void save_cwnd() noexcept;
  void reset_mode(Instant now) noexcept;
  void reset_probe_bw_mode(Instant now) noexcept;
  /// Window for `bw` and `gain` in segments (bbr_bdp), then with bbr_quantization_budget.
  [[nodiscard]] std::uint64_t bdp_segments(std::uint64_t bw, std::uint32_t gain) const noexcept;
  [[nodiscard]] std::uint64_t quantization_budget(std::uint64_t segments) const noexcept;
  [[nodiscard]] std::uint64_t inflight(std::uint64_t bw, std::uint32_t gain) const noexcept;
  [[nodiscard]] std::uint64_t in_net_at_edt(std::uint64_t in_flight) const noexcept;
  [[nodiscard]] std::uint32_t tso_segs_goal() const noexcept;
  [[nodiscard]] std::uint64_t ack_aggregation_cwnd() const noexcept;
  [[nodiscard]] std::uint32_t random_below(std::uint32_t n) noexcept;

  std::uint32_t mss_;
  std::uint32_t initial_cwnd_;
  BbrParams params_;
  std::uint64_t rng_;
  std::uint32_t cwnd_;
  std::uint32_t ssthresh_ = 0xffffffffU;
  std::uint64_t pacing_rate_ = 0;

  BbrMode mode_ = BbrMode::Startup;
  CaState prev_ca_state_ = CaState::Open;
  bool after_rto_ = false;  // on_rto() seen, its recovery not over: Linux TCP_CA_Loss
  bool packet_conservation_ = false;
  bool round_start_ = false;
  bool idle_restart_ = false;
  bool probe_rtt_round_done_ = false;
  bool has_seen_rtt_ = false;
  bool full_bw_reached_ = false;
  std::uint32_t full_bw_cnt_ = 0;
  std::uint64_t full_bw_ = 0;
  RoundCounter rounds_;
  WindowedMax bw_;
  std::optional<Duration> min_rtt_;
  std::optional<Instant> min_rtt_stamp_;  // unset until the first ACK (Linux: at init)
  std::optional<Instant> probe_rtt_done_stamp_;
  // Samples sent during PROBE_RTT count as app-limited until this much is delivered (Linux
  // sets tp->app_limited; we cannot reach the connection's rate sampler, so we mark here).
  std::uint64_t app_limited_until_ = 0;
  Instant cycle_stamp_{};
  unsigned cycle_idx_ = 0;
  std::uint32_t pacing_gain_ = kHighGain;
  std::uint32_t cwnd_gain_ = kHighGain;
  std::uint32_t prior_cwnd_ = 0;
  // ACK aggregation (bbr_update_ack_aggregation), bytes.
  std::optional<Instant> ack_epoch_stamp_;
  std::uint64_t ack_epoch_acked_ = 0;
  std::array<std::uint64_t, 2> extra_acked_{};
  unsigned extra_acked_win_rtts_ = 0;
  unsigned extra_acked_win_idx_ = 0;
};

}  // namespace tapsrv::tcp
