// BBR v1, function for function after Linux's net/ipv4/tcp_bbr.c (bbr_main and its helpers),
// in bytes instead of packets: bandwidth is bytes per second, windows are bytes, but the BDP
// is still rounded up to whole segments where Linux rounds to packets. Not done: the
// long-term ("policer") bandwidth mode (bbr_lt_bw_sampling), an optional part of Linux's BBR.
#include "tapsrv/tcp/cc_bbr.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kBwRtts = 10;               // bbr_bw_rtts: CYCLE_LEN + 2 rounds
constexpr Duration kMinRttWin = 10s;                // bbr_min_rtt_win_sec
constexpr Duration kProbeRttMode = 200ms;           // bbr_probe_rtt_mode_ms
constexpr std::uint64_t kMinTsoRate = 1200000 / 8;  // bbr_min_tso_rate, in bytes/s
constexpr std::uint32_t kPacingShift = 10;          // sk_pacing_shift: ~1 ms of data per burst
constexpr std::uint32_t kCycleRand = 7;             // bbr_cycle_rand
constexpr std::uint32_t kCwndMinTarget = 4;         // bbr_cwnd_min_target, segments
constexpr std::uint32_t kFullBwThresh = BbrCc::kUnit * 5 / 4;
constexpr std::uint32_t kFullBwCnt = 3;
constexpr std::uint32_t kExtraAckedGain = BbrCc::kUnit;
constexpr unsigned kExtraAckedWinRtts = 5;
constexpr std::uint64_t kAckEpochAckedResetThresh = 1U << 20;  // packets, in Linux
constexpr Duration kExtraAckedMax = 100ms;
constexpr std::uint64_t kMaxCwnd = 1U << 30;
constexpr std::uint32_t kCycleLen = 8;

std::uint64_t bytes_in(std::uint64_t bw, Duration d) noexcept {
  return static_cast<std::uint64_t>(double(bw) * std::chrono::duration<double>(d).count());
}

}  // namespace

// ---- Linux lib/win_minmax.c ---------------------------------------------------------------

void WindowedMax::reset(std::uint64_t t, std::uint64_t value) noexcept {
  s_[0] = s_[1] = s_[2] = Sample{t, value};
}

std::uint64_t WindowedMax::update(std::uint64_t window, std::uint64_t t,
                                  std::uint64_t value) noexcept {
  const Sample val{t, value};
  // A new max, or nothing left in the window: forget earlier samples.
  if (val.v >= s_[0].v || val.t - s_[2].t > window) {
    reset(t, value);
    return s_[0].v;
  }
  if (val.v >= s_[1].v) {
    s_[2] = s_[1] = val;
  } else if (val.v >= s_[2].v) {
    s_[2] = val;
  }
  // minmax_subwin_update: age the best choices out as the window moves.
  const std::uint64_t dt = val.t - s_[0].t;
  if (dt > window) {
    s_[0] = s_[1];
    s_[1] = s_[2];
    s_[2] = val;
    if (val.t - s_[0].t > window) {
      s_[0] = s_[1];
      s_[1] = s_[2];
      s_[2] = val;
    }
  } else if (s_[1].t == s_[0].t && dt > window / 4) {
    s_[2] = s_[1] = val;  // a quarter of the window without a new max: a 2nd choice
  } else if (s_[2].t == s_[1].t && dt > window / 2) {
    s_[2] = val;  // half the window: a 3rd choice
  }
  return s_[0].v;
}

// ---- BBR ------------------------------------------------------------------------------------

BbrCc::BbrCc(std::uint32_t mss, std::uint32_t initial_cwnd, BbrParams params) noexcept
    : mss_{mss},
      initial_cwnd_{std::max(initial_cwnd, mss)},
      params_{params},
      rng_{params.seed},
      cwnd_{initial_cwnd_} {
  init_pacing_rate_from_rtt(Duration{0});  // bbr_init
}

std::uint32_t BbrCc::random_below(std::uint32_t n) noexcept {
  // splitmix64: a deterministic stand-in for Linux's prandom_u32_max(), seeded per connection.
  rng_ += 0x9e3779b97f4a7c15ULL;
  std::uint64_t z = rng_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<std::uint32_t>(((z >> 32) * n) >> 32);
}

std::uint64_t BbrCc::rate_with_gain(std::uint64_t bw, std::uint32_t gain) noexcept {
  return static_cast<std::uint64_t>(double(bw) * gain / kUnit * 0.99);
}

void BbrCc::on_ack(const AckSample& s) noexcept {
  if (!min_rtt_stamp_) {
    // bbr_init: the filter starts now, from the handshake's RTT if the connection has one.
    min_rtt_stamp_ = s.now;
    ack_epoch_stamp_ = s.now;
    if (s.min_rtt > Duration{0}) { min_rtt_ = s.min_rtt; }
  }
  if (!s.in_recovery) { after_rto_ = false; }
  const CaState state =
      !s.in_recovery ? CaState::Open : (after_rto_ ? CaState::Loss : CaState::Recovery);
  // What Linux's tp->app_limited does during PROBE_RTT: data sent then says nothing about
  // the bottleneck.
  const bool app_limited = s.rate.is_app_limited ||
                           (app_limited_until_ != 0 && s.rate.prior_delivered < app_limited_until_);
  if (app_limited_until_ != 0 && s.delivered > app_limited_until_) { app_limited_until_ = 0; }

  update_model(s, app_limited);  // bbr_main
  const std::uint64_t bw = bw_.get();
  set_pacing_rate(bw, pacing_gain_, s.srtt);
  set_cwnd(s, state, bw, cwnd_gain_);
}

void BbrCc::update_model(const AckSample& s, bool app_limited) noexcept {
  update_bw(s, app_limited);
  update_ack_aggregation(s);
  update_cycle_phase(s);
  check_full_bw_reached(app_limited);
  check_drain(s);
  update_min_rtt(s);
  update_gains();
}

void BbrCc::update_bw(const AckSample& s, bool app_limited) noexcept {
  round_start_ = false;
  if (!s.rate.valid()) { return; }
  if (rounds_.on_ack(s)) {
    round_start_ = true;
    packet_conservation_ = false;
  }
  const auto us = static_cast<std::uint64_t>(s.rate.interval.count());
  const std::uint64_t sample = s.rate.delivered * 1'000'000 / us;
  // App-limited samples show the application's rate, not the path's; they may only raise
  // the estimate, never drag it down (the max filter would otherwise forget the real rate).
  if (!app_limited || sample >= bw_.get()) { bw_.update(kBwRtts, rounds_.count(), sample); }
}

void BbrCc::update_ack_aggregation(const AckSample& s) noexcept {
  // bbr_update_ack_aggregation: how much more than bw × time the ACKs of an epoch carried.
  if (s.acked == 0 || !s.rate.valid()) { return; }
  if (round_start_) {
    extra_acked_win_rtts_ = std::min(0x1fU, extra_acked_win_rtts_ + 1);
    if (extra_acked_win_rtts_ >= kExtraAckedWinRtts) {
      extra_acked_win_rtts_ = 0;
      extra_acked_win_idx_ ^= 1U;
      extra_acked_[extra_acked_win_idx_] = 0;
    }
  }
  std::uint64_t expected = bytes_in(bw_.get(), s.now - *ack_epoch_stamp_);
  if (ack_epoch_acked_ <= expected ||
      ack_epoch_acked_ + s.acked >= kAckEpochAckedResetThresh * mss_) {
    ack_epoch_acked_ = 0;
    ack_epoch_stamp_ = s.now;
    expected = 0;
  }
  ack_epoch_acked_ += s.acked;
  const std::uint64_t extra = std::min<std::uint64_t>(ack_epoch_acked_ - expected, cwnd_);
  extra_acked_[extra_acked_win_idx_] = std::max(extra_acked_[extra_acked_win_idx_], extra);
}

std::uint64_t BbrCc::ack_aggregation_cwnd() const noexcept {
  if (!full_bw_reached_) { return 0; }
  const std::uint64_t max_aggr = bytes_in(bw_.get(), kExtraAckedMax);
  const std::uint64_t aggr = kExtraAckedGain * std::max(extra_acked_[0], extra_acked_[1]) / kUnit;
  return std::min(aggr, max_aggr);
}

void BbrCc::update_cycle_phase(const AckSample& s) noexcept {
  if (mode_ == BbrMode::ProbeBw && is_next_cycle_phase(s)) { advance_cycle_phase(s.now); }
}

bool BbrCc::is_next_cycle_phase(const AckSample& s) const noexcept {
  // bbr_is_next_cycle_phase: a phase lasts about one min RTT...
  const bool is_full_length = min_rtt_ && s.now - cycle_stamp_ > *min_rtt_;
  if (pacing_gain_ == kUnit) { return is_full_length; }
  const std::uint64_t in_net = in_net_at_edt(s.prior_in_flight);
  const std::uint64_t bw = bw_.get();
  // ...but probing (gain > 1) goes on until the flight reached gain × BDP, unless packets are
  // lost (the buffer may not hold that much), and draining (gain < 1) stops as soon as the
  // flight is back at one BDP.
  if (pacing_gain_ > kUnit) {
    return is_full_length && (s.lost > 0 || in_net >= inflight(bw, pacing_gain_));
  }
  return is_full_length || in_net <= inflight(bw, kUnit);
}

void BbrCc::advance_cycle_phase(Instant now) noexcept {
  cycle_idx_ = (cycle_idx_ + 1) & (kCycleLen - 1);
  cycle_stamp_ = now;
}

void BbrCc::reset_probe_bw_mode(Instant now) noexcept {
  // Start anywhere in the cycle but at the 3/4 phase, so flows sharing a path desynchronise.
  mode_ = BbrMode::ProbeBw;
  cycle_idx_ = kCycleLen - 1 - random_below(kCycleRand);
  advance_cycle_phase(now);
}

void BbrCc::reset_mode(Instant now) noexcept {
  if (!full_bw_reached_) {
    mode_ = BbrMode::Startup;
  } else {
    reset_probe_bw_mode(now);
  }
}

void BbrCc::check_full_bw_reached(bool app_limited) noexcept {
  // The pipe is full once three non-app-limited rounds in a row failed to raise the estimate
  // by 25% (bbr_check_full_bw_reached).
  if (full_bw_reached_ || !round_start_ || app_limited) { return; }
  const std::uint64_t thresh = full_bw_ * kFullBwThresh / kUnit;
  if (bw_.get() >= thresh) {
    full_bw_ = bw_.get();
    full_bw_cnt_ = 0;
    return;
  }
  ++full_bw_cnt_;
  full_bw_reached_ = full_bw_cnt_ >= kFullBwCnt;
}

void BbrCc::check_drain(const AckSample& s) noexcept {
  if (mode_ == BbrMode::Startup && full_bw_reached_) {
    mode_ = BbrMode::Drain;  // drain the queue STARTUP built
    ssthresh_ =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(inflight(bw_.get(), kUnit), kMaxCwnd));
  }
  if (mode_ == BbrMode::Drain && in_net_at_edt(s.in_flight) <= inflight(bw_.get(), kUnit)) {
    reset_probe_bw_mode(s.now);  // the queue is estimated gone
  }
}

void BbrCc::update_min_rtt(const AckSample& s) noexcept {
  // bbr_update_min_rtt. The connection does not tell us about delayed ACKs
  // (rs->is_ack_delayed), so an expired filter takes any sample.
  const bool filter_expired = s.now > *min_rtt_stamp_ + kMinRttWin;
  if (s.rtt && (!min_rtt_ || *s.rtt <= *min_rtt_ || filter_expired)) {
    min_rtt_ = *s.rtt;
    min_rtt_stamp_ = s.now;
  }
  if (filter_expired && !idle_restart_ && mode_ != BbrMode::ProbeRtt) {
    mode_ = BbrMode::ProbeRtt;  // dip: drain the queue to see the path's own RTT
    save_cwnd();
    probe_rtt_done_stamp_.reset();
  }
  if (mode_ == BbrMode::ProbeRtt) {
    app_limited_until_ = std::max<std::uint64_t>(s.delivered + s.in_flight, 1);
    // Stay at the minimum flight for max(200 ms, one round).
    if (!probe_rtt_done_stamp_ && s.in_flight <= kCwndMinTarget * mss_) {
      probe_rtt_done_stamp_ = s.now + kProbeRttMode;
      probe_rtt_round_done_ = false;
      rounds_.restart(s.delivered);
    } else if (probe_rtt_done_stamp_) {
      if (round_start_) { probe_rtt_round_done_ = true; }
      if (probe_rtt_round_done_) { check_probe_rtt_done(s.now); }
    }
  }
  // An idle restart ends with the first ACK that delivers new data.
  if (s.rate.delivered > 0) { idle_restart_ = false; }
}

void BbrCc::check_probe_rtt_done(Instant now) noexcept {
  if (!probe_rtt_done_stamp_ || !(now > *probe_rtt_done_stamp_)) { return; }
  min_rtt_stamp_ = now;  // wait a while until the next PROBE_RTT
  cwnd_ = std::max(cwnd_, prior_cwnd_);
  reset_mode(now);
}

void BbrCc::update_gains() noexcept {
  switch (mode_) {
    case BbrMode::Startup:
      pacing_gain_ = kHighGain;
      cwnd_gain_ = kHighGain;
      break;
    case BbrMode::Drain:
      pacing_gain_ = kDrainGain;  // slow, to drain
      cwnd_gain_ = kHighGain;     // keep the window
      break;
    case BbrMode::ProbeBw:
      pacing_gain_ = kPacingGain[cycle_idx_];
      cwnd_gain_ = kCwndGain;
      break;
    case BbrMode::ProbeRtt:
      pacing_gain_ = kUnit;
      cwnd_gain_ = kUnit;
      break;
  }
}

void BbrCc::init_pacing_rate_from_rtt(Duration srtt) noexcept {
  // high_gain × cwnd / RTT, with a nominal 1 ms before any RTT sample.
  has_seen_rtt_ = srtt > Duration{0};
  const auto us = static_cast<std::uint64_t>(has_seen_rtt_ ? srtt.count() : 1000);
  pacing_rate_ = rate_with_gain(std::uint64_t{cwnd_} * 1'000'000 / us, kHighGain);
}

void BbrCc::set_pacing_rate(std::uint64_t bw, std::uint32_t gain, Duration srtt) noexcept {
  const std::uint64_t rate = rate_with_gain(bw, gain);
  if (!has_seen_rtt_ && srtt > Duration{0}) { init_pacing_rate_from_rtt(srtt); }
  // Until the pipe is known full, the rate only goes up: early samples are too small.
  if (full_bw_reached_ || rate > pacing_rate_) { pacing_rate_ = rate; }
}

std::uint32_t BbrCc::tso_segs_goal() const noexcept {
  // bbr_tso_segs_goal: about 1 ms of data per burst, at least 2 segments above 1.2 Mbit/s.
  const std::uint64_t bytes =
      std::min<std::uint64_t>(pacing_rate_ >> kPacingShift, params_.tso_max_bytes);
  const std::uint64_t min_segs = pacing_rate_ < kMinTsoRate ? 1 : 2;
  return static_cast<std::uint32_t>(
      std::min<std::uint64_t>(std::max(bytes / mss_, min_segs), 0x7f));
}

std::uint64_t BbrCc::bdp_segments(std::uint64_t bw, std::uint32_t gain) const noexcept {
  // Without an RTT sample, cap at the initial window (Linux TCP_INIT_CWND).
  if (!min_rtt_) { return (initial_cwnd_ + mss_ - 1) / mss_; }
  const double bdp = double(bw) * std::chrono::duration<double>(*min_rtt_).count() * gain / kUnit;
  return static_cast<std::uint64_t>(std::ceil(bdp / mss_));  // round up: no negative feedback
}

std::uint64_t BbrCc::quantization_budget(std::uint64_t segments) const noexcept {
  // Room for a full TSO burst in the sender's qdisc, its NIC and the receiver's GRO; even, to
  // suit ACK-every-other-segment; and in the probing phase enough to go above BDP at all.
  segments += 3ULL * tso_segs_goal();
  segments = (segments + 1) & ~1ULL;
  if (mode_ == BbrMode::ProbeBw && cycle_idx_ == 0) { segments += 2; }
  return segments;
}

std::uint64_t BbrCc::inflight(std::uint64_t bw, std::uint32_t gain) const noexcept {
  return quantization_budget(bdp_segments(bw, gain)) * mss_;
}

std::uint64_t BbrCc::in_net_at_edt(std::uint64_t in_flight) const noexcept {
  // bbr_packets_in_net_at_edt with the earliest departure time at now (the connection paces
  // by the rate we give it and has no departure-time queue): only the probing burst counts.
  if (pacing_gain_ > kUnit) { in_flight += std::uint64_t{tso_segs_goal()} * mss_; }
  return in_flight;
}

void BbrCc::save_cwnd() noexcept {
  // The last known good window, to return to after recovery or PROBE_RTT.
  if (prev_ca_state_ < CaState::Recovery && mode_ != BbrMode::ProbeRtt) {
    prior_cwnd_ = cwnd_;
  } else {
    prior_cwnd_ = std::max(prior_cwnd_, cwnd_);
  }
}

bool BbrCc::set_cwnd_to_recover_or_restore(const AckSample& s, CaState state,
                                           std::uint64_t& new_cwnd) noexcept {
  // First round of recovery: packet conservation, send what was delivered. After it, slow
  // start toward the target (set_cwnd); at the end, restore the window from before.
  std::uint64_t cwnd = cwnd_;
  if (s.lost > 0) { cwnd = cwnd > s.lost + mss_ ? cwnd - s.lost : mss_; }
  if (state == CaState::Recovery && prev_ca_state_ != CaState::Recovery) {
    packet_conservation_ = true;
    rounds_.restart(s.delivered);                 // the round starts now
    cwnd = std::uint64_t{s.in_flight} + s.acked;  // cut what app, TSO or pacing left unused
  } else if (prev_ca_state_ >= CaState::Recovery && state < CaState::Recovery) {
    cwnd = std::max<std::uint64_t>(cwnd, prior_cwnd_);
    packet_conservation_ = false;
  }
  prev_ca_state_ = state;
  if (packet_conservation_) {
    new_cwnd = std::max<std::uint64_t>(cwnd, std::uint64_t{s.in_flight} + s.acked);
    return true;
  }
  new_cwnd = cwnd;
  return false;
}

void BbrCc::set_cwnd(const AckSample& s, CaState state, std::uint64_t bw,
                     std::uint32_t gain) noexcept {
  std::uint64_t cwnd = cwnd_;
  if (s.acked > 0 && !set_cwnd_to_recover_or_restore(s, state, cwnd)) {
    const std::uint64_t target =
        quantization_budget(bdp_segments(bw, gain) + ack_aggregation_cwnd() / mss_) * mss_;
    // Slow start toward the target (the estimate grows, or losses drew cwnd below it); cut
    // down to it only once the pipe is known full.
    if (full_bw_reached_) {
      cwnd = std::min(cwnd + s.acked, target);
    } else if (cwnd < target || s.delivered < initial_cwnd_) {
      cwnd += s.acked;
    }
    cwnd = std::max<std::uint64_t>(cwnd, kCwndMinTarget * mss_);
  }
  cwnd_ = static_cast<std::uint32_t>(std::min(cwnd, kMaxCwnd));
  if (mode_ == BbrMode::ProbeRtt) { cwnd_ = std::min(cwnd_, kCwndMinTarget * mss_); }
}

void BbrCc::on_congestion(Instant /*now*/, std::uint32_t /*in_flight*/) noexcept {
  // bbr_ssthresh: BBR does not cut on loss; it keeps the window to restore afterwards. The
  // recovery itself shows in the ACKs' in_recovery (packet conservation in set_cwnd).
  save_cwnd();
}

void BbrCc::on_recovery_end(Instant /*now*/) noexcept {
  // Nothing: the first ACK outside recovery restores the window (bbr_set_cwnd_to_recover_or_
  // restore), as Linux does on the ACK that leaves TCP_CA_Recovery.
}

void BbrCc::on_rto(Instant /*now*/, std::uint32_t /*in_flight*/) noexcept {
  // tcp_enter_loss (ssthresh() → bbr_save_cwnd, unless a recovery already saved it; cwnd =
  // in flight + 1, and nothing is in flight once all is marked lost), then bbr_set_state.
  if (prev_ca_state_ < CaState::Recovery) { save_cwnd(); }
  cwnd_ = mss_;
  prev_ca_state_ = CaState::Loss;
  after_rto_ = true;
  full_bw_ = 0;
  round_start_ = true;  // treat the RTO like the end of a round
}

void BbrCc::on_undo() noexcept {
  // bbr_undo_cwnd: the slow-down was spurious, so restart full-pipe detection; cwnd stays.
  full_bw_ = 0;
  full_bw_cnt_ = 0;
}

void BbrCc::on_idle_restart(Instant now) noexcept {
  // bbr_cwnd_event(CA_EVENT_TX_START) for an app-limited restart. Linux's tcp_cwnd_restart
  // does not apply to BBR (it has cong_control), so the window stays.
  idle_restart_ = true;
  ack_epoch_stamp_ = now;
  ack_epoch_acked_ = 0;
  if (mode_ == BbrMode::ProbeBw) {
    set_pacing_rate(bw_.get(), kUnit, Duration{0});  // no need to hurry after idling
  } else if (mode_ == BbrMode::ProbeRtt) {
    check_probe_rtt_done(now);
  }
}

}  // namespace tapsrv::tcp
