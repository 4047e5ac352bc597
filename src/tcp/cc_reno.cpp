// NewReno: RFC 5681 slow start and congestion avoidance counting bytes (RFC 3465), with Linux's
// event handling (tcp_cong.c, tcp_input.c): which events cut the window, what undo restores.
#include "tapsrv/tcp/cc_reno.hpp"

#include <algorithm>

namespace tapsrv::tcp {

RenoCc::RenoCc(std::uint32_t mss, std::uint32_t initial_cwnd) noexcept
    : cwnd_{std::max(initial_cwnd, mss)}, mss_{mss}, initial_cwnd_{std::max(initial_cwnd, mss)} {}

void RenoCc::on_ack(const AckSample& s) noexcept {
  if (!s.in_recovery) {
    // The connection has left recovery. on_recovery_end() normally ended the reduction
    // already; after an ECN-Echo (no recovery at all) this is where the window falls.
    if (reducing_) { end_reduction(); }
    after_rto_ = false;
  }
  // Linux tcp_cong_control: PRR owns the window in CWR and Recovery, but after an RTO
  // (TCP_CA_Loss) slow start grows it again from one segment, in recovery or not.
  const bool may_raise = !reducing_ && (!s.in_recovery || after_rto_);
  // RFC 7661 and Linux tcp_is_cwnd_limited: a window the sender does not fill proves nothing.
  if (!may_raise || !s.cwnd_limited || s.acked == 0) { return; }
  grow(s);
}

void RenoCc::grow(const AckSample& s) noexcept {
  // Linux tcp_reno_cong_avoid: what slow start leaves over (it stops at ssthresh) counts
  // toward congestion avoidance on the same ACK.
  std::uint32_t acked = s.acked;
  if (in_slow_start()) {
    acked = slow_start(acked);
    if (acked == 0) { return; }
  }
  cong_avoid_ai(cwnd_, acked);
}

std::uint32_t RenoCc::slow_start(std::uint32_t acked) noexcept {
  // RFC 5681 (2) counting bytes as RFC 3465 §2.2 allows; no L limit, as Linux: peers with GRO
  // send one stretch ACK per dozens of segments, and L = 2 SMSS would leave the window crawling.
  const std::uint32_t room = ssthresh_ - cwnd_;  // in_slow_start(): cwnd_ < ssthresh_
  const std::uint32_t step = std::min(acked, room);
  set_cwnd(std::uint64_t{cwnd_} + step);
  return acked - step;
}

void RenoCc::cong_avoid_ai(std::uint32_t w, std::uint32_t acked) noexcept {
  // RFC 5681 (3) as RFC 3465 §2.1 counts it: one MSS per window of acknowledged bytes.
  // A count left from a larger window pays out at once (Linux: "if (cnt >= w)" first).
  if (cwnd_acked_ >= w) {
    cwnd_acked_ = 0;
    set_cwnd(std::uint64_t{cwnd_} + mss_);
  }
  cwnd_acked_ += acked;
  if (cwnd_acked_ >= w) {
    const std::uint32_t steps = cwnd_acked_ / w;
    cwnd_acked_ -= steps * w;
    set_cwnd(std::uint64_t{cwnd_} + std::uint64_t{steps} * mss_);
  }
}

std::uint32_t RenoCc::loss_ssthresh() noexcept {
  // Deviation: RFC 5681 (4) halves FlightSize; Linux (tcp_reno_ssthresh) halves cwnd. We
  // follow Linux: cwnd never exceeds what was used (growth needs cwnd_limited), and the
  // in-flight figure the connection has at that moment may already exclude marked losses.
  return std::max(cwnd_ / 2, 2 * mss_);
}

void RenoCc::on_congestion(Instant /*now*/, std::uint32_t /*in_flight*/) noexcept {
  // One reduction per episode (Linux tcp_enter_recovery: only outside CWR/Recovery).
  if (reducing_) { return; }
  reduce();
  reducing_ = true;
  after_rto_ = false;
  cwnd_acked_ = 0;
}

void RenoCc::reduce() noexcept {
  // Linux keeps tcp_current_ssthresh() for undo (tcp_enter_recovery, tcp_enter_loss).
  prior_cwnd_ = cwnd_;
  prior_ssthresh_ = current_ssthresh();
  ssthresh_ = loss_ssthresh();
}

void RenoCc::on_recovery_end(Instant /*now*/) noexcept {
  if (reducing_) { end_reduction(); }
  after_rto_ = false;
}

void RenoCc::end_reduction() noexcept {
  // RFC 6937 §3 / Linux tcp_end_cwnd_reduction: recovery ends with cwnd at ssthresh.
  reducing_ = false;
  set_cwnd(ssthresh_);
}

void RenoCc::on_rto(Instant /*now*/, std::uint32_t /*in_flight*/) noexcept {
  // Linux tcp_enter_loss: a timeout in the middle of a recovery, or a repeated one, keeps the
  // threshold already set (RFC 5681 §3.1: ssthresh is held constant for a retransmission that
  // times out again) and keeps what undo would restore.
  if (!reducing_ && !after_rto_) { reduce(); }
  reducing_ = false;
  after_rto_ = true;
  cwnd_acked_ = 0;
  set_cwnd(mss_);  // RFC 5681 (4): the loss window, one segment
}

void RenoCc::on_undo() noexcept {
  // Linux tcp_undo_cwnd_reduction with tcp_reno_undo_cwnd.
  if (prior_ssthresh_ == 0) { return; }
  set_cwnd(std::max(cwnd_, prior_cwnd_));
  ssthresh_ = std::max(ssthresh_, prior_ssthresh_);
  prior_ssthresh_ = 0;
  reducing_ = false;
  after_rto_ = false;
}

void RenoCc::on_idle_restart(Instant /*now*/) noexcept {
  // RFC 5681 §4.1: restart from RW = min(IW, cwnd). Linux tcp_cwnd_restart halves cwnd once
  // per RTO of idleness down to the same floor; the interface tells us only that at least
  // one RTO passed, so we go straight to the floor as the RFC does. Linux's threshold keeps
  // three quarters of the old window, so slow start climbs back to it quickly.
  ssthresh_ = current_ssthresh();
  cwnd_acked_ = 0;
  set_cwnd(std::min(cwnd_, initial_cwnd_));
}

std::uint32_t RenoCc::current_ssthresh() const noexcept {
  if (reducing_) { return ssthresh_; }
  return std::max(ssthresh_, (cwnd_ >> 1) + (cwnd_ >> 2));
}

void RenoCc::set_cwnd(std::uint64_t bytes) noexcept {
  cwnd_ = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(bytes, mss_, kMaxCwnd));
}

}  // namespace tapsrv::tcp
