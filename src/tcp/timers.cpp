// The connection's timers: retransmission (RFC 6298), persist (RFC 9293 §3.8.6.1), delayed
// ACK (RFC 9293 §3.8.6.3), FIN_WAIT_2 and TIME_WAIT (2 MSL).
#include <algorithm>

#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::TcpFlags;

void Connection::on_timers(Instant now, Outbox& out) {
  now_ = now;
  if (time_wait_ && *time_wait_ <= now) { return enter(State::Closed, now, Cause::Timeout); }
  if (fin_wait2_ && *fin_wait2_ <= now) {
    // Linux's tcp_fin_timeout: a peer that never closes cannot hold us in FIN_WAIT_2.
    return enter(State::Closed, now, Cause::Timeout);
  }
  if (retransmit_ && *retransmit_ <= now) { on_retransmit_timeout(now, out); }
  if (state_ == State::Closed) { return; }
  if (persist_ && *persist_ <= now) { on_persist_timeout(now, out); }
  if (delayed_ack_ && *delayed_ack_ <= now) {
    delayed_ack_.reset();
    ack_now_ = true;  // the engine calls output() next
  }
}

void Connection::on_retransmit_timeout(Instant now, Outbox& out) {
  retransmit_.reset();
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
  if (++retries_ > cfg_.max_retransmits) { return abort(now, out, Cause::Retransmit); }
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
  persist_ = now + std::min(rtt_.rto() * (1U << std::min(persist_backoff_, 10U)), cfg_.rto_max);
}

}  // namespace tapsrv::tcp
