#include "support/cc_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tapsrv::test {
namespace {

double us_of(Instant t) noexcept { return double(t.time_since_epoch().count()); }
Instant instant_at(double us) noexcept {
  return Instant{Duration{static_cast<Duration::rep>(std::ceil(us))}};
}

}  // namespace

BottleneckModel::BottleneckModel(LinkConfig link, tcp::CongestionControl& cc)
    : link_{link}, cc_{cc} {}

std::uint64_t BottleneckModel::bdp() const noexcept {
  return static_cast<std::uint64_t>(double(link_.rate) *
                                    std::chrono::duration<double>(link_.base_rtt).count());
}

std::uint32_t BottleneckModel::queue_bytes() const noexcept {
  const double backlog_us = std::max(0.0, link_free_us_ - us_of(now_));
  return static_cast<std::uint32_t>(backlog_us * double(link_.rate) / 1e6);
}

std::uint32_t BottleneckModel::send_window() const noexcept {
  // PRR sets how much fast recovery may send; otherwise, and after an RTO, cwnd does.
  if (fast_recovery_ && cc_.uses_prr()) {
    return pipe_ + static_cast<std::uint32_t>(std::max<std::int64_t>(prr_allowance_, 0));
  }
  return cc_.cwnd();
}

void BottleneckModel::run_for(Duration d) {
  const Instant end = now_ + d;
  // Bounded: every pass either sends, or consumes an event, or ends the run.
  for (;;) {
    try_send();
    const double never = std::numeric_limits<double>::infinity();
    const double ack_us = arrivals_.empty() ? never : us_of(arrivals_.top().at);
    const double rto_us = rto_at_ ? us_of(*rto_at_) : never;
    const bool paced_wait =
        cc_.pacing_rate() && pipe_ + link_.mss <= send_window() && next_send_us_ > us_of(now_);
    const double pace_us = paced_wait ? next_send_us_ : never;
    const double next = std::min({ack_us, rto_us, pace_us});
    if (next > us_of(end)) {
      now_ = end;
      return;
    }
    now_ = std::max(now_, instant_at(next));
    if (next == ack_us) {
      const Arrival a = arrivals_.top();
      arrivals_.pop();
      on_arrival(a);
    } else if (next == rto_us) {
      on_rto_fired();
    }
  }
}

void BottleneckModel::try_send() {
  for (;;) {
    if (cc_.pacing_rate() && next_send_us_ > us_of(now_)) { return; }
    if (pipe_ + link_.mss > send_window()) {
      cwnd_limited_ = true;
      return;
    }
    // Retransmissions first, lowest sequence first (RFC 6675 NextSeg).
    std::uint64_t id = segs_.size();
    while (!lost_.empty()) {
      const auto first = *lost_.begin();
      lost_.erase(lost_.begin());
      if (segs_[first].state == SegState::Lost) {
        id = first;
        break;
      }
    }
    if (id == segs_.size()) { segs_.emplace_back(); }
    transmit(id);
    if (fast_recovery_) {
      prr_out_ += link_.mss;
      prr_allowance_ -= link_.mss;
    }
  }
}

void BottleneckModel::transmit(std::uint64_t id) {
  Segment& seg = segs_[id];
  if (seg.tx != 0 || seg.state == SegState::Lost) { seg.retransmitted = true; }
  // tcp_rate_skb_sent: a flight starting from nothing restarts the delivery clock.
  if (pipe_ == 0) { first_sent_time_ = delivered_time_ = now_; }
  seg.first_sent = first_sent_time_;
  seg.delivered_time = delivered_time_;
  seg.delivered = delivered_;
  seg.app_limited = false;  // the model's sender always has data
  seg.sent = now_;
  seg.tx = ++next_tx_;
  seg.state = SegState::InFlight;
  pipe_ += link_.mss;
  sent_order_.emplace(id, seg.tx);
  if (!rto_at_) { rto_at_ = now_ + rto_; }
  if (const auto rate = cc_.pacing_rate(); rate && *rate > 0) {
    next_send_us_ = std::max(next_send_us_, us_of(now_)) + double(link_.mss) * 1e6 / double(*rate);
  }
  // The bottleneck: drop-tail, then serialisation at `rate`, then propagation.
  const double now_us = us_of(now_);
  const auto queued = queue_bytes();
  if (queued + link_.mss > link_.queue) {
    ++drops_;
    return;
  }
  max_queue_ = std::max(max_queue_, queued + link_.mss);
  link_free_us_ = std::max(link_free_us_, now_us) + double(link_.mss) * 1e6 / double(link_.rate);
  arrivals_.push({instant_at(link_free_us_ + us_of(Instant{link_.base_rtt})), id, seg.tx});
}

void BottleneckModel::rtt_sample(Duration r) noexcept {
  // RFC 6298 (2.2), (2.3); Linux's 200 ms floor for the RTO.
  if (!srtt_) {
    srtt_ = r;
    rttvar_ = r / 2;
  } else {
    const Duration err = *srtt_ > r ? *srtt_ - r : r - *srtt_;
    rttvar_ = (3 * *rttvar_ + err) / 4;
    srtt_ = (7 * *srtt_ + r) / 8;
  }
  min_rtt_ = std::min(min_rtt_.value_or(r), r);
  rto_ = std::max<Duration>(*srtt_ + 4 * *rttvar_, 200ms);
}

void BottleneckModel::on_arrival(const Arrival& a) {
  Segment& seg = segs_[a.id];
  const std::uint32_t prior_in_flight = pipe_;
  // RACK with a FIFO path: every transmission older than this one that is still unacked was
  // dropped.
  std::uint32_t lost = 0;
  while (!sent_order_.empty() && sent_order_.front().second <= a.tx) {
    const auto [id, tx] = sent_order_.front();
    sent_order_.pop();
    Segment& old = segs_[id];
    if (tx < a.tx && old.tx == tx && old.state == SegState::InFlight) {
      old.state = SegState::Lost;
      pipe_ -= link_.mss;
      lost_.insert(id);
      lost += link_.mss;
    }
  }
  if (seg.state == SegState::Acked) { return; }  // a copy sent before an RTO arrived late
  if (seg.state == SegState::InFlight) { pipe_ -= link_.mss; }
  seg.state = SegState::Acked;

  // tcp_rate_gen: the sample covers what was delivered since this segment was sent.
  delivered_ += link_.mss;
  delivered_time_ = now_;
  tcp::AckSample s;
  s.now = now_;
  s.acked = link_.mss;
  s.rate.prior_delivered = seg.delivered;
  s.rate.delivered = delivered_ - seg.delivered;
  s.rate.is_app_limited = seg.app_limited;
  s.rate.interval = std::max(seg.sent - seg.first_sent, now_ - seg.delivered_time);
  first_sent_time_ = seg.sent;
  if (!seg.retransmitted) {  // Karn
    s.rtt = now_ - seg.sent;
    rtt_sample(*s.rtt);
  }
  if (min_rtt_ && s.rate.interval < *min_rtt_) { s.rate.interval = Duration{0}; }  // too short

  if (lost > 0 && !in_recovery_) {
    // RFC 6675 / RFC 8985: enter fast recovery; PRR starts counting (RFC 6937).
    ++congestion_events_;
    cc_.on_congestion(now_, prior_in_flight);
    in_recovery_ = fast_recovery_ = true;
    recovery_point_ = segs_.size();
    recover_fs_ = (segs_.size() - una_) * link_.mss;
    prr_delivered_ = prr_out_ = 0;
  }
  while (una_ < segs_.size() && segs_[una_].state == SegState::Acked) { ++una_; }
  if (in_recovery_ && una_ >= recovery_point_) {
    in_recovery_ = fast_recovery_ = false;
    cc_.on_recovery_end(now_);
  }
  if (fast_recovery_) {
    // RFC 6937 §3.1 with SSRB (slow start reduction bound).
    prr_delivered_ += link_.mss;
    const std::uint64_t ssthresh = cc_.ssthresh();
    std::int64_t sndcnt = 0;
    if (pipe_ > ssthresh) {
      sndcnt =
          static_cast<std::int64_t>((prr_delivered_ * ssthresh + recover_fs_ - 1) / recover_fs_) -
          static_cast<std::int64_t>(prr_out_);
    } else {
      const auto limit = std::max<std::int64_t>(static_cast<std::int64_t>(prr_delivered_) -
                                                    static_cast<std::int64_t>(prr_out_),
                                                link_.mss) +
                         link_.mss;
      sndcnt = std::min<std::int64_t>(static_cast<std::int64_t>(ssthresh) - pipe_, limit);
    }
    prr_allowance_ = std::max<std::int64_t>(sndcnt, 0);
  }

  s.lost = lost;
  s.prior_in_flight = prior_in_flight;
  s.in_flight = pipe_;
  s.delivered = delivered_;
  s.min_rtt = min_rtt_.value_or(Duration{0});
  s.srtt = srtt_.value_or(Duration{0});
  s.in_recovery = in_recovery_;
  s.cwnd_limited = cwnd_limited_;
  cc_.on_ack(s);
  if (on_ack_hook) { on_ack_hook(s); }
  trace_.push_back(
      {now_, cc_.cwnd(), cc_.ssthresh(), pipe_, queue_bytes(), cc_.pacing_rate(), in_recovery_});
  // RFC 6298 (5.3): restart the timer on new data acknowledged; (5.2) stop it when idle.
  rto_at_.reset();
  if (pipe_ > 0 || !lost_.empty()) { rto_at_ = now_ + rto_; }
}

void BottleneckModel::on_rto_fired() {
  // RFC 6298 (5.4)-(5.6): everything outstanding is presumed lost; go back N.
  ++rtos_;
  const std::uint32_t prior = pipe_;
  for (std::uint64_t id = una_; id < segs_.size(); ++id) {
    if (segs_[id].state == SegState::InFlight) {
      segs_[id].state = SegState::Lost;
      lost_.insert(id);
    }
  }
  sent_order_ = {};
  pipe_ = 0;
  cc_.on_rto(now_, prior);
  in_recovery_ = true;
  fast_recovery_ = false;
  recovery_point_ = segs_.size();
  rto_ = std::min<Duration>(2 * rto_, 60s);
  rto_at_ = now_ + rto_;
}

void AckClock::round(bool cwnd_limited) {
  const std::uint32_t cwnd = cc_.cwnd();
  const std::uint32_t acks = std::max(cwnd / mss_, 1U);
  const std::uint64_t round_start = delivered_;
  const Duration spacing = rtt_ / acks;
  for (std::uint32_t i = 0; i < acks; ++i) {
    now_ += spacing;
    delivered_ += mss_;
    tcp::AckSample s;
    s.now = now_;
    s.acked = mss_;
    s.delivered = delivered_;
    s.prior_in_flight = cwnd;
    s.in_flight = cwnd - mss_;
    s.rtt = rtt_;
    s.min_rtt = rtt_;
    s.srtt = rtt_;
    s.cwnd_limited = cwnd_limited;
    // Every segment of this round was sent while the previous round's ACKs came in; take
    // them all as sent at its end, so the first ACK of each round starts a new round.
    s.rate.prior_delivered = round_start;
    s.rate.delivered = delivered_ - s.rate.prior_delivered;
    s.rate.interval = rtt_;
    cc_.on_ack(s);
    if (on_ack_hook) { on_ack_hook(s); }
  }
}

void AckClock::run_for(Duration d, bool cwnd_limited) {
  const Instant end = now_ + d;
  while (now_ < end) { round(cwnd_limited); }
}

}  // namespace tapsrv::test
