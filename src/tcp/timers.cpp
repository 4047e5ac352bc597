// The connection's timers: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), delayed
// ACK (RFC 9293 §3.8.6.3), FIN_WAIT_2 and TIME_WAIT (2 MSL).
#include <algorithm>

#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;

void Connection::on_timers(Instant now, Outbox& out) {
  now_ = now;
  if (time_wait_ && *time_wait_ <= now) { return enter(State::Closed, now, Cause::Timeout); }
  if (fin_wait2_ && *fin_wait2_ <= now) {
    // Linux's tcp_fin_timeout: a peer that never closes cannot hold us in FIN_WAIT_2.
    return enter(State::Closed, now, Cause::Timeout);
  }
  if (retransmit_ && *retransmit_ <= now) { on_retransmit_timeout(now, out); }
  if (loss_probe_ && *loss_probe_ <= now) { on_loss_probe_timeout(now, out); }
  if (state_ == State::Closed) { return; }
  if (persist_ && *persist_ <= now) { on_persist_timeout(now, out); }
  if (keepalive_ && *keepalive_ <= now) { on_keepalive_timeout(now, out); }
  if (state_ == State::Closed) { return; }
  if (delayed_ack_ && *delayed_ack_ <= now) {
    delayed_ack_.reset();
    ack_now_ = true;  // the engine calls output() next
  }
}

void Connection::on_retransmit_timeout(Instant now, Outbox& out) {
  retransmit_.reset();
  loss_probe_.reset();
  stats_.add(Counter::TcpRetransmitTimeouts);
  if (state_ == State::SynReceived || state_ == State::SynSent) {
    const bool active = state_ == State::SynSent;
    if (retries_ >= (active ? cfg_.max_syn_retransmits : cfg_.max_synack_retransmits)) {
      // Like Linux, a half-open connection that never completes just goes away.
      return enter(passive_ ? State::Listen : State::Closed, now, Cause::Timeout);
    }
    ++retries_;
    rtt_.back_off();
    send_syn(now, out, !active);
    stats_.add(Counter::TcpRetransmits);
    return arm_retransmit(now);
  }
  if (++retries_ > cfg_.max_retransmits ||
      (cfg_.user_timeout && unacked_since_ && now - *unacked_since_ >= *cfg_.user_timeout)) {
    return abort(now, out, Cause::Retransmit);
  }
  // RFC 5681 (4): one segment's worth of window and half the flight as the new threshold;
  // RFC 6298 (5.5)-(5.6): back off, and resend from SND.UNA (go-back-N).
  const auto flight = static_cast<std::uint32_t>(snd_max_ - snd_.una);
  ssthresh_ = std::max(flight / 2, 2U * mss_);
  cwnd_ = mss_;
  in_recovery_ = false;
  dupacks_ = 0;
  recover_ = snd_max_;
  rtt_.back_off();
  timed_seq_.reset();
  snd_.nxt = snd_.una;  // output() resends from here, our FIN included
}

void Connection::arm_loss_probe(Instant now) noexcept {
  // RFC 8985 §7.2: only with SACK (the probe's ACK must be able to show the hole), an RTT
  // sample, data in flight, outside recovery, and at most one probe per flight.
  loss_probe_.reset();
  if (!sack_enabled_ || !rtt_.has_sample() || in_recovery_ || probe_outstanding_ ||
      snd_.una == snd_max_ || state_ == State::SynReceived) {
    return;
  }
  // §7.2: PTO = 2 SRTT, plus the peer's worst-case delayed ACK when one segment is in flight
  // (its ACK may be held back on purpose), never below 10 ms, never beyond the RTO.
  Duration pto = 2 * rtt_.srtt();
  if (static_cast<std::uint32_t>(snd_max_ - snd_.una) <= mss_) { pto += cfg_.rto_min; }
  pto = std::max<Duration>(pto, std::chrono::milliseconds{10});
  const Instant at = now + pto;
  if (retransmit_ && *retransmit_ <= at) { return; }
  loss_probe_ = at;
}

void Connection::on_loss_probe_timeout(Instant now, Outbox& out) {
  loss_probe_.reset();
  if (snd_.una == snd_max_ || in_recovery_) { return; }
  // §7.3: resend the last segment sent, so that its ACK (with SACK) reveals any earlier hole
  // and triggers fast recovery in one round trip instead of a 200 ms timeout.
  probe_outstanding_ = true;
  stats_.add(Counter::TcpLossProbes);
  // The last thing sent is our FIN, or data ending at SND.MAX (no FIN: SND.MAX <= data_end()).
  if (fin_sent_ && snd_max_ == fin_seq_ + 1) {
    send_segment(now, out, fin_seq_, TcpFlags::kAck | TcpFlags::kFin, {});
  } else {
    const auto tail =
        std::min<std::uint32_t>(payload_mss(), static_cast<std::uint32_t>(snd_max_ - snd_.una));
    const SeqNum start = snd_max_ - tail;
    send_segment(now, out, start, TcpFlags::kAck,
                 snd_buf_.contiguous_at(static_cast<std::uint32_t>(start - data_seq_), tail));
  }
  stats_.add(Counter::TcpRetransmits);
  timed_seq_.reset();  // Karn: the timed segment may be the probe
  arm_retransmit(now);
}

void Connection::heard_from_peer(Instant now) noexcept {
  keepalive_probes_ = 0;
  if (cfg_.keepalive_idle && kSending.contains(state_)) {
    keepalive_ = now + *cfg_.keepalive_idle;
  } else {
    keepalive_.reset();
  }
}

void Connection::on_keepalive_timeout(Instant now, Outbox& out) {
  keepalive_.reset();
  if (!kSending.contains(state_)) { return; }
  // Data in flight has its own timer; keepalive only speaks for an idle connection.
  if (snd_.una != snd_max_) {
    keepalive_ = now + *cfg_.keepalive_idle;
    return;
  }
  if (keepalive_probes_ >= cfg_.keepalive_probes) { return abort(now, out, Cause::Timeout); }
  // RFC 1122 §4.2.3.6: a probe with SEG.SEQ = SND.NXT - 1 and no data (as Linux sends it)
  // makes a live peer answer with an ACK.
  send_segment(now, out, snd_.una - 1, TcpFlags::kAck, {});
  stats_.add(Counter::TcpKeepaliveProbes);
  ++keepalive_probes_;
  keepalive_ = now + cfg_.keepalive_interval;
}

void Connection::on_persist_timeout(Instant now, Outbox& out) {
  persist_.reset();
  if (!(snd_.nxt < data_end())) { return; }
  if (snd_.wnd != 0) {
    // A small window, not a closed one: send what it allows now (output() runs next).
    sws_override_ = true;
    return;
  }
  // Linux's zero-window probe: an already-acknowledged sequence number makes the peer answer
  // with an ACK that carries its current window, without us committing a byte.
  send_segment(now, out, snd_.una - 1, TcpFlags::kAck, {});
  stats_.add(Counter::TcpWindowProbes);
  ++persist_backoff_;
  persist_ = now + persist_interval();
}

}  // namespace tapsrv::tcp
