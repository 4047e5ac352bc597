// The connection's timers: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), delayed
// ACK (RFC 9293 §3.8.6.3) and FIN_WAIT_2. TIME_WAIT's 2 MSL runs in its record (time_wait.cpp).
#include <algorithm>

#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;

void Connection::on_timers(Instant now, Outbox& out) {
  now_ = now;
  if (fin_wait2_ && *fin_wait2_ <= now) {
    // Linux's tcp_fin_timeout: a peer that never closes cannot hold us in FIN_WAIT_2.
    return enter(State::Closed, now, Cause::Timeout);
  }
  if (retransmit_ && *retransmit_ <= now) { on_retransmit_timeout(now, out); }
  if (loss_probe_ && *loss_probe_ <= now) { on_loss_probe_timeout(now, out); }
  if (reorder_ && *reorder_ <= now) { on_reorder_timeout(now); }
  if (pace_ && *pace_ <= now) { pace_.reset(); }  // output() follows and sends
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
    ++retransmits_;
    return arm_retransmit(now);
  }
  if (cfg_.user_timeout && unacked_since_ && now - *unacked_since_ >= *cfg_.user_timeout) {
    return abort_on_timeout(now, out, Cause::UserTimeout);  // RFC 5482
  }
  if (++retries_ > cfg_.max_retransmits) { return abort_on_timeout(now, out, Cause::Retransmit); }
  // RFC 6298 (5.5)-(5.6): back off and resend; RFC 6675 §5.1: only what the peer lacks.
  on_rto_recovery(now);
  rtt_.back_off();
  arm_retransmit(now);  // output() resends what is now marked lost, within cwnd
}

void Connection::arm_loss_probe(Instant now) noexcept {
  // RFC 8985 §7.2: only with SACK (the probe's ACK must be able to show the hole), an RTT
  // sample, data in flight, outside recovery, and at most one probe per flight.
  loss_probe_.reset();
  if (!sack_enabled_ || !rtt_.has_sample() || recovery_ != Recovery::Open || sb_.sacked() > 0 ||
      probe_outstanding_ || snd_.una == snd_.nxt || state_ == State::SynReceived) {
    return;
  }
  // §7.2: PTO = 2 SRTT, plus the peer's worst-case delayed ACK when one segment is in flight
  // (its ACK may be held back on purpose), never below 10 ms, never beyond the RTO.
  Duration pto = 2 * rtt_.srtt();
  if (static_cast<std::uint32_t>(snd_.nxt - snd_.una) <= mss_) { pto += cfg_.rto_min; }
  pto = std::max<Duration>(pto, std::chrono::milliseconds{10});
  const Instant at = now + pto;
  if (retransmit_ && *retransmit_ <= at) { return; }
  loss_probe_ = at;
}

void Connection::on_loss_probe_timeout(Instant now, Outbox& out) {
  loss_probe_.reset();
  if (snd_.una == snd_.nxt || recovery_ != Recovery::Open || sb_.empty()) { return; }
  probe_outstanding_ = true;
  stats_.add(Counter::TcpLossProbes);
  // RFC 8985 §7.3: new data when the peer's window allows it, else the last segment sent, so
  // that the ACK (with SACK) reveals a lost tail in one round trip instead of an RTO.
  const auto flight = static_cast<std::uint32_t>(snd_.nxt - snd_.una);
  const auto unsent = static_cast<std::uint32_t>(data_end() - snd_.nxt);
  const std::uint32_t seg_mss = send_mss();
  if (unsent > 0 && snd_.wnd >= flight + std::min(unsent, seg_mss)) {
    sws_override_ = true;  // the probe goes whatever its size
    if (send_new_data(now, out, std::min(unsent, seg_mss), unsent)) {
      tlp_retrans_ = false;
      tlp_end_ = snd_.nxt;
      return arm_retransmit(now);
    }
  }
  const std::size_t last = sb_.size() - 1;
  const SentSegment& e = sb_.entry(last);
  if (e.has(SentSegment::kSacked)) { return; }  // nothing unacknowledged at the tail to probe
  if (!e.has(SentSegment::kFin) && e.len > seg_mss && sb_.split(last, e.len - seg_mss)) {
    retransmit(now, out, last + 1, seg_mss);
  } else {
    retransmit(now, out, last, e.len);
  }
  tlp_retrans_ = true;
  tlp_end_ = snd_.nxt;
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
  if (snd_.una != snd_.nxt) {
    keepalive_ = now + *cfg_.keepalive_idle;
    return;
  }
  if (keepalive_probes_ >= cfg_.keepalive_probes) {
    return abort_on_timeout(now, out, Cause::Keepalive);
  }
  // RFC 1122 §4.2.3.6: a probe with SEG.SEQ = SND.NXT - 1 and no data (as Linux sends it)
  // makes a live peer answer with an ACK.
  send_segment(now, out, snd_.una - 1, TcpFlags::kAck, {});
  stats_.add(Counter::TcpKeepaliveProbes);
  ++keepalive_probes_;
  keepalive_ = now + cfg_.keepalive_interval;
}

void Connection::abort_on_timeout(Instant now, Outbox& out, Cause cause) {
  // Linux tcp_write_err counts every abort a timer decides in TCPAbortOnTimeout.
  stats_.add(Counter::TcpAbortsOnTimeout);
  abort(now, out, cause);
}

void Connection::arm_persist(Instant now) noexcept {
  persist_ = now + persist_interval();
  // Linux tcp_clamp_probe0_to_user_timeout: the probe timer never runs past the user timeout,
  // so that the reset comes on time rather than at the next backed-off probe.
  if (cfg_.user_timeout && probing_since_) {
    persist_ = std::min(*persist_, *probing_since_ + *cfg_.user_timeout);
  }
}

void Connection::on_persist_timeout(Instant now, Outbox& out) {
  persist_.reset();
  if (!(snd_.nxt < data_end())) {
    // Nothing waits any more: probing is over (Linux tcp_probe_timer without a send head).
    probes_out_ = 0;
    probing_since_.reset();
    return;
  }
  if (snd_.wnd != 0) {
    // A small window, not a closed one: send what it allows now (output() runs next).
    sws_override_ = true;
    return;
  }
  // Linux tcp_probe_timer. RFC 1122 §4.2.2.17 keeps the connection open as long as the peer
  // answers its probes, and an answer (any acceptable ACK) resets probes_out_ (check_ack). A
  // peer that stopped answering is given up after as many probes as data gets retransmissions
  // (Linux: tcp_retries2 for both), or else it would pin the connection and its buffers forever.
  // The user timeout counts from the first probe for as long as the window stays closed,
  // answered or not (Linux icsk_probes_tstamp, reset only when the window opens; tcp(7):
  // buffered data may stay untransmitted "due to zero window size" at most that long).
  if (!probing_since_) {
    probing_since_ = now;
  } else if (cfg_.user_timeout && now - *probing_since_ >= *cfg_.user_timeout) {
    return abort_on_timeout(now, out, Cause::UserTimeout);
  }
  if (probes_out_ >= cfg_.max_retransmits) { return abort_on_timeout(now, out, Cause::ProbeLimit); }
  // Linux's zero-window probe: an already-acknowledged sequence number makes the peer answer
  // with an ACK that carries its current window, without us committing a byte.
  send_segment(now, out, snd_.una - 1, TcpFlags::kAck, {});
  stats_.add(Counter::TcpWindowProbes);
  ++probes_out_;
  ++persist_backoff_;
  arm_persist(now);
}

}  // namespace tapsrv::tcp
