#include "tapsrv/tcp/ecn.hpp"

namespace tapsrv::tcp {

using wire::Ecn;
using wire::SeqNum;
using wire::TcpFlags;

void EcnState::on_syn(const wire::TcpSegment& syn) noexcept {
  // RFC 3168 §6.1.1: agree to an ECN-setup SYN. Linux (tcp_ecn_create_request) also refuses
  // a SYN that arrived ECT or CE, since a SYN must be Not-ECT; we follow it.
  ok_ = cfg_.ecn && is_setup_syn(syn.flags) && syn.ecn == Ecn::NotEct;
  if (ok_) { stats_.add(Counter::TcpEcnNegotiated); }
}

std::uint8_t EcnState::syn_ack_flags() const noexcept {
  // §6.1.1: the ECN-setup SYN-ACK has ECE and not CWR, so that a host which merely reflects
  // the flags it got is not taken for an ECN-capable one.
  return ok_ ? TcpFlags::kEce : std::uint8_t{0};
}

std::uint8_t EcnState::syn_flags(bool retransmission) noexcept {
  if (!retransmission) { requested_ = cfg_.ecn && cfg_.ecn_on_connect; }
  // Linux (tcp_ecn_clear_syn, tcp_ecn_fallback=1) drops ECE|CWR from a retransmitted SYN but
  // still takes an ECN-setup SYN-ACK, which answers the first SYN.
  constexpr auto kSetup = static_cast<std::uint8_t>(TcpFlags::kEce | TcpFlags::kCwr);
  return requested_ && !retransmission ? kSetup : std::uint8_t{0};
}

void EcnState::on_syn_ack(const wire::TcpSegment& syn_ack) noexcept {
  // §6.1.1: ECE without CWR; both set is a reflection of our SYN (Linux tcp_ecn_rcv_synack).
  ok_ = requested_ && syn_ack.flags.ece() && !syn_ack.flags.cwr();
  if (ok_) { stats_.add(Counter::TcpEcnNegotiated); }
}

bool EcnState::on_segment(const wire::TcpSegment& seg) noexcept {
  if (!ok_) { return false; }
  const bool has_data = !seg.payload.empty();
  bool ack_now = false;
  // §6.1.3: CWR ends the echo. First, so that a segment with both CWR and CE starts it again.
  // Deviation from §6.1.2 (CWR only on new data): Linux (tcp_ecn_accept_cwr) takes CWR on a
  // pure ACK too, since some stacks send it there; and ACKs data with CWR at once, since the
  // sender's window may be down to one segment.
  if (seg.flags.cwr()) {
    demand_cwr_ = false;
    ack_now = has_data;
  }
  // Only data counts (Linux tcp_ecn_check_ce): §6.1.4 has pure ACKs sent Not-ECT, and an ACK
  // marked CE anyway tells of congestion on a path we send nothing on but ACKs.
  if (!has_data) { return ack_now; }
  switch (seg.ecn) {
    case Ecn::Ce:
      stats_.add(Counter::TcpCeReceived);
      seen_ect_ = true;
      // Linux acknowledges the first CE at once: the sender may have a tiny window, and the
      // sooner it sees ECE the sooner it reduces. Later CEs change nothing until CWR.
      if (!demand_cwr_) {
        demand_cwr_ = true;
        ack_now = true;
      }
      break;
    case Ecn::Ect0:
    case Ecn::Ect1: seen_ect_ = true; break;
    case Ecn::NotEct:
      // Linux: data Not-ECT after ECT is most likely a retransmission (§6.1.5), which is worth
      // an immediate ACK.
      if (seen_ect_) { ack_now = true; }
      break;
  }
  return ack_now;
}

bool EcnState::on_ack(const wire::TcpSegment& ack, SeqNum snd_nxt) noexcept {
  // ECE on a SYN-ACK is negotiation, not congestion (Linux tcp_ecn_rcv_ecn_echo).
  if (!ok_ || !ack.flags.ack() || ack.flags.syn()) { return false; }
  // Linux (tcp_fastretrans_alert) leaves TCP_CA_CWR only once an ACK covers more than
  // high_seq: that data was sent after the reduction, so the window it belongs to already
  // carries the reduced rate and the CWR that ends the receiver's echo.
  if (reducing_ && high_seq_ < ack.ack) { reducing_ = false; }
  if (!ack.flags.ece()) { return false; }
  stats_.add(Counter::TcpEceReceived);
  // §6.1.2: react to ECE at most once per window of data; within it the receiver keeps
  // echoing the same CE until our CWR arrives.
  if (reducing_) { return false; }
  start_reduction(snd_nxt);
  stats_.add(Counter::TcpEcnReductions);
  return true;
}

void EcnState::on_loss_reduction(SeqNum snd_nxt) noexcept {
  // Linux: tcp_enter_recovery and tcp_enter_loss both set high_seq and queue CWR.
  if (ok_) { start_reduction(snd_nxt); }
}

void EcnState::start_reduction(SeqNum snd_nxt) noexcept {
  reducing_ = true;
  high_seq_ = snd_nxt;
  queue_cwr_ = true;
}

Ecn EcnState::codepoint_for(bool has_data, bool is_retransmission) const noexcept {
  // Linux tcp_ecn_send: ECT for a segment with data at or past SND.NXT, else Not-ECT.
  return ok_ && has_data && !is_retransmission ? Ecn::Ect0 : Ecn::NotEct;
}

EcnMarking EcnState::on_send(bool has_data, bool is_retransmission) noexcept {
  EcnMarking m{.ecn = codepoint_for(has_data, is_retransmission)};
  if (!ok_) { return m; }
  // §6.1.3: ECE on every segment until CWR arrives, retransmissions and pure ACKs included.
  if (demand_cwr_) { m.flags |= TcpFlags::kEce; }
  // §6.1.2: CWR on the first new data after the reduction only.
  if (queue_cwr_ && m.ecn == Ecn::Ect0) {
    queue_cwr_ = false;
    m.flags |= TcpFlags::kCwr;
  }
  return m;
}

}  // namespace tapsrv::tcp
