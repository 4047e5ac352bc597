// CUBIC (RFC 9438) over Reno's event handling, and HyStart++ (RFC 9406) for the first slow
// start. RFC 9438 works in segments and seconds; we keep its state in those units, in double
// precision, and turn the result into bytes only for cwnd, so the code reads like the RFC.
// Linux (tcp_cubic.c) approximates the same curve in fixed point, per jiffy and per packet.
#include "tapsrv/tcp/cc_cubic.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;

// RFC 9406 §4.3.
constexpr Duration kMinRttThresh = 4ms;
constexpr Duration kMaxRttThresh = 16ms;
constexpr int kMinRttDivisor = 8;
constexpr std::uint32_t kNRttSample = 8;
constexpr double kCssGrowthDivisor = 4;
constexpr std::uint32_t kCssRounds = 5;

double seconds(Duration d) noexcept { return std::chrono::duration<double>(d).count(); }

}  // namespace

CubicCc::CubicCc(std::uint32_t mss, std::uint32_t initial_cwnd, CubicParams params) noexcept
    : RenoCc{mss, initial_cwnd},
      params_{params},
      alpha_aimd_{3 * (1 - params.beta) / (1 + params.beta)},
      phase_{params.hystart ? HystartPhase::SlowStart : HystartPhase::Done} {}

double CubicCc::segments() const noexcept { return double(cwnd_) / mss(); }

void CubicCc::on_ack(const AckSample& s) noexcept {
  const bool round_start = rounds_.on_ack(s);
  // §5.8: t must not include time the flow was limited by the application rather than by
  // cwnd, or W_cubic(t) would be far above the window once it sends again. We leave out the
  // time between ACKs that report an unfilled window.
  if (epoch_ && last_ack_ && !s.cwnd_limited) { *epoch_ += s.now - *last_ack_; }
  last_ack_ = s.now;
  hystart_on_ack(s, round_start);
  RenoCc::on_ack(s);
}

void CubicCc::grow(const AckSample& s) noexcept {
  std::uint32_t acked = s.acked;
  if (in_slow_start()) {
    if (phase_ != HystartPhase::Done) {
      // RFC 9406 §4.2: cwnd += min(N, L * SMSS), divided by CSS_GROWTH_DIVISOR in CSS.
      // ssthresh is still infinite here, so nothing is left over for avoidance.
      // Deviation: L is infinite, paced or not, as in Linux (bictcp has no L). Our peers' GRO
      // sends one ACK per TSO burst of dozens of segments, and L = 8 would cap slow start at 8
      // segments per burst, far below doubling per round trip.
      const auto step = double(acked);
      add_bytes(phase_ == HystartPhase::Css ? step / kCssGrowthDivisor : step);
      return;
    }
    acked = slow_start(acked);
    if (acked == 0) { return; }
  }
  congestion_avoidance(s, acked);
}

void CubicCc::congestion_avoidance(const AckSample& s, std::uint32_t acked) noexcept {
  const double w = segments();
  if (!epoch_) { start_epoch(s.now, w); }
  const double t = seconds(s.now - *epoch_);
  // §4.2: the target is the curve one RTT ahead, RTT being the smoothed RTT (RFC 6298); it
  // is kept between cwnd (growth never negative) and 1.5 cwnd (never faster than slow start).
  // Deviation: Linux adds its min RTT (delay_min) instead; the RFC says SRTT, we follow it.
  const Duration rtt = s.srtt > Duration{0} ? s.srtt : s.rtt.value_or(s.min_rtt);
  const double target = std::clamp(w_cubic(t + seconds(rtt)), w, 1.5 * w);
  // §4.3 eq. 4, with α switching to 1 once W_est is back at the window of the last loss.
  const double segments_acked = double(acked) / mss();
  const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : alpha_aimd_;
  w_est_ += alpha * segments_acked / w;
  if (w_cubic(t) < w_est_) {
    // §4.3 Reno-friendly region: cwnd = W_est. We only raise it, as Linux's tcp_friendliness
    // does, because cwnd chases W_cubic(t + RTT) and may already be a little above W_est.
    add_bytes(std::max(0.0, (w_est_ - w) * mss()));
    return;
  }
  // §4.4 concave (cwnd < W_max) and §4.5 convex region alike: (target - cwnd) / cwnd per
  // segment acknowledged, i.e. cwnd reaches target after one window of ACKs.
  add_bytes((target - w) / w * acked);
}

void CubicCc::start_epoch(Instant now, double cwnd_segments) noexcept {
  // §4.2 eq. 2: K = cbrt((W_max - cwnd_start) / C), and K = 0 when cwnd_start is already
  // above W_max (or W_max is unknown: after HyStart++ or an RTO, §4.8 and §4.10), the curve
  // then starting at cwnd_start (Linux bic_origin_point).
  epoch_ = now;
  w_est_ = cwnd_segments;
  if (w_max_ <= cwnd_segments) {
    k_ = 0;
    origin_ = cwnd_segments;
  } else {
    k_ = std::cbrt((w_max_ - cwnd_segments) / params_.c);
    origin_ = w_max_;
  }
}

double CubicCc::w_cubic(double t) const noexcept {
  const double d = t - k_;
  return params_.c * d * d * d + origin_;  // §4.2 eq. 1
}

std::uint32_t CubicCc::loss_ssthresh() noexcept {
  // §4.6 and §4.7 (Linux bictcp_recalc_ssthresh): remember W_max, lowered when the window
  // did not get back to the last one (another flow probably took a share), end the epoch.
  const double w = segments();
  w_max_ = params_.fast_convergence && w < w_max_ ? w * (1 + params_.beta) / 2 : w;
  cwnd_prior_ = w;
  epoch_.reset();
  const auto reduced = static_cast<std::uint32_t>(double(cwnd_) * params_.beta);
  return std::max(reduced, 2 * mss());
}

void CubicCc::on_congestion(Instant now, std::uint32_t in_flight) noexcept {
  if (is_reducing()) { return; }  // one reduction per episode, as RenoCc
  // §4.9: keep what a spurious reduction must give back.
  prior_ = {w_max_, k_, origin_, w_est_, cwnd_prior_, epoch_};
  phase_ = HystartPhase::Done;  // RFC 9406 §4.2: a loss ends slow start and CSS for good
  RenoCc::on_congestion(now, in_flight);
}

void CubicCc::on_rto(Instant now, std::uint32_t in_flight) noexcept {
  if (!is_reducing() && !after_rto()) {
    prior_ = {w_max_, k_, origin_, w_est_, cwnd_prior_, epoch_};
  }
  RenoCc::on_rto(now, in_flight);
  // §4.8 (Linux bictcp_state on TCP_CA_Loss resets everything): the first avoidance after a
  // timeout uses K = 0 and W_max = the window it starts with.
  w_max_ = 0;
  epoch_.reset();
  phase_ = HystartPhase::Done;
}

void CubicCc::on_undo() noexcept {
  // §4.9: restore the curve only if the window is still below what the reduction took away;
  // otherwise keep growing from the present (RenoCc restores cwnd and ssthresh either way).
  if (can_undo() && cwnd_ < prior_cwnd()) {
    w_max_ = prior_.w_max;
    k_ = prior_.k;
    origin_ = prior_.origin;
    w_est_ = prior_.w_est;
    cwnd_prior_ = prior_.cwnd_prior;
    epoch_ = prior_.start;
  }
  RenoCc::on_undo();
}

void CubicCc::on_idle_restart(Instant now) noexcept {
  // Linux bictcp_cwnd_event(CA_EVENT_TX_START): move the epoch by the idle time so the curve
  // continues where it stopped (§5.8). Linux measures from the last send; we have the last
  // ACK, which follows that send by an RTT, so we shift by up to one RTT less.
  if (epoch_ && last_ack_ && now > *last_ack_) {
    *epoch_ = std::min(now, *epoch_ + (now - *last_ack_));
  }
  last_ack_ = now;  // the idle time is accounted for; on_ack() must not shift by it again
  RenoCc::on_idle_restart(now);
}

void CubicCc::hystart_on_ack(const AckSample& s, bool round_start) noexcept {
  if (phase_ == HystartPhase::Done || !in_slow_start()) { return; }
  if (round_start) {
    // §4.2: CSS lasts CSS_ROUNDS rounds, the partial round it began in counting as one.
    if (phase_ == HystartPhase::Css && css_rounds_++ >= kCssRounds) { return hystart_exit(); }
    last_round_min_rtt_ = current_round_min_rtt_;
    current_round_min_rtt_.reset();
    rtt_sample_count_ = 0;
  }
  if (!s.rtt) { return; }
  current_round_min_rtt_ = std::min(current_round_min_rtt_.value_or(*s.rtt), *s.rtt);
  ++rtt_sample_count_;
  if (rtt_sample_count_ < kNRttSample) { return; }
  if (phase_ == HystartPhase::SlowStart) {
    if (!last_round_min_rtt_) { return; }
    const Duration thresh =
        std::max(kMinRttThresh, std::min(*last_round_min_rtt_ / kMinRttDivisor, kMaxRttThresh));
    if (*current_round_min_rtt_ >= *last_round_min_rtt_ + thresh) {
      // The queue is growing: leave slow start for CSS before it overflows.
      css_baseline_min_rtt_ = current_round_min_rtt_;
      phase_ = HystartPhase::Css;
      css_rounds_ = 1;
    }
  } else if (*current_round_min_rtt_ < *css_baseline_min_rtt_) {
    // The delay fell back: the exit was spurious; resume slow start (with HyStart++).
    css_baseline_min_rtt_.reset();
    phase_ = HystartPhase::SlowStart;
  }
}

void CubicCc::hystart_exit() noexcept {
  // RFC 9406 §4.2: enter congestion avoidance with ssthresh = cwnd. RFC 9438 §4.10: no loss,
  // so W_max is the window here and the first epoch starts with K = 0.
  phase_ = HystartPhase::Done;
  ssthresh_ = cwnd_;
  w_max_ = segments();
  cwnd_prior_ = w_max_;
  epoch_.reset();
}

void CubicCc::add_bytes(double bytes) noexcept {
  const double total = bytes + carry_;
  const double whole = std::floor(total);
  carry_ = total - whole;
  set_cwnd(std::uint64_t{cwnd_} + static_cast<std::uint64_t>(whole));
}

}  // namespace tapsrv::tcp
