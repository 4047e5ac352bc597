// RFC 9293 §3.10.7.3 "SEGMENT ARRIVES" in SYN_SENT: the answer to our active open.
#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::TcpFlags;
using wire::TcpSegment;

void Connection::on_syn_sent(Instant now, const TcpSegment& seg, Outbox& out) {
  // First, the ACK: it must acknowledge our SYN and nothing beyond it.
  const bool has_ack = seg.flags.ack();
  if (has_ack && (seg.ack <= iss_ || snd_.nxt < seg.ack)) {
    if (!seg.flags.rst()) {
      send_segment(now, out, seg.ack, TcpFlags::kRst, {});  // <SEQ=SEG.ACK><CTL=RST>
      stats_.add(Counter::TcpResetsSent);
    }
    return stats_.count(Drop::TcpAckTooNew);
  }
  // Second, RST: only with an acceptable ACK (RFC 5961 §3.2 for SYN_SENT), i.e. "refused".
  if (seg.flags.rst()) {
    if (!has_ack) { return stats_.count(Drop::TcpRstChallenged); }
    stats_.add(Counter::TcpResetsReceived);
    return enter(State::Closed, now, Cause::Segment, &seg);
  }
  // Fourth, SYN.
  if (!seg.flags.syn()) { return stats_.count(Drop::TcpNoAck); }
  irs_ = seg.seq;
  rcv_.nxt = seg.seq + 1;
  rcv_.adv_right = rcv_.nxt;
  negotiate(seg.options);
  snd_.wnd = seg.window;  // unscaled in a SYN (RFC 7323 §2.2)
  snd_.max_wnd = seg.window;
  snd_.wl1 = seg.seq;
  snd_.wl2 = seg.ack;
  if (has_ack) {
    ecn_.on_syn_ack(seg);
    snd_.una = seg.ack;
    retransmit_.reset();
    retries_ = 0;
    enter(State::Established, now, Cause::Segment, &seg);
    events_ |= kEstablished;
    ack_now_ = true;  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, sent by output()
    return;
  }
  // A SYN without ACK: simultaneous open (RFC 9293 Figure 8). Answer SYN,ACK and wait.
  enter(State::SynReceived, now, Cause::Segment, &seg);
  send_syn_ack(now, out);
  arm_retransmit(now);
}

}  // namespace tapsrv::tcp
