// RFC 9293 §3.10.7.4 "SEGMENT ARRIVES" in a synchronized state, one function per check, with
// RFC 5961 (blind attacks), RFC 7323 (PAWS) and RFC 5681/6582 (congestion) folded in.
#include <algorithm>

#include "tapsrv/core/bug.hpp"
#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;
using wire::TcpSegment;

void Connection::on_segment(Instant now, const TcpSegment& in, Outbox& out) {
  now_ = now;
  stats_.add(Counter::TcpSegmentsIn);
  if (obs_.wants_segments()) { obs_.on_segment(id_, false, in); }
  if (state_ == State::SynSent) { return on_syn_sent(now, in, out); }
  if (!kSynchronized.contains(state_)) { return; }  // LISTEN and CLOSED belong to the engine
  // Our SYN,ACK was lost and the peer repeats its SYN: answer it again rather than wait for
  // the timer (Linux, tcp_check_req). RFC 5961 would send a challenge ACK, which the peer in
  // SYN_SENT drops. At most once per interval, sharing the limit of the challenge ACKs as
  // Linux's request sock shares last_oow_ack_time (tcp_oow_rate_limited,
  // TCPACKSkippedSynRecv): copies of a SYN, spoofed or looping, must not each get a SYN,ACK.
  if (state_ == State::SynReceived && in.flags.syn() && !in.flags.ack() && in.seq == irs_) {
    if (oow_rate_limited(now)) { return stats_.add(Counter::TcpSynAcksLimited); }
    send_syn_ack(now, out);
    return;
  }
  TcpSegment seg = in;
  // RFC 9293 Figure 8 line 6: in a simultaneous open the peer's SYN,ACK repeats its SYN, which
  // RCV.NXT already covers, and acknowledges ours. Taken as the ACK it carries, as Linux lets
  // it pass in SYN_RECV for a socket of its own (tcp_validate_incoming); else the sequence
  // test drops it and only our SYN,ACK's retransmission, an RTO later, gets us established.
  if (state_ == State::SynReceived && !passive_ && in.flags.syn() && in.flags.ack() &&
      !in.flags.rst() && in.seq == irs_ && in.ack == snd_.nxt) {
    seg.flags.bits &= static_cast<std::uint8_t>(~TcpFlags::kSyn);
    seg.seq = irs_ + 1;
  }
  if (check_sequence(now, seg) == Step::Stop) { return; }  // first
  heard_from_peer(now);  // an acceptable segment, so not a blind attacker's
  if (check_rst(now, seg, out) == Step::Stop) { return; }  // second (+ RFC 5961 §3.2)
  if (check_syn(now, seg, out) == Step::Stop) { return; }  // fourth (+ RFC 5961 §4.2)
  if (check_ack(now, seg, out) == Step::Stop) { return; }  // fifth (+ RFC 5961 §5.2)
  update_ts_recent(now, in);                               // accepted: RFC 7323 §4.3 (2)
  if (ecn_.on_segment(seg)) { ack_now_ = true; }           // RFC 3168 §6.1.3: CE, CWR
  process_text(now, seg);                                  // sixth (URG ignored) and seventh
  check_fin(now, seg);                                     // eighth
}

bool Connection::oow_rate_limited(Instant now) noexcept {
  // RFC 5961 §7 asks for a limit on challenge ACKs. A per-connection one, as Linux has had
  // since CVE-2016-5696 showed that a global counter leaks to blind attackers whether their
  // guess fell in some connection's window (tcp_invalid_ratelimit, 500 ms).
  if (last_challenge_ && now - *last_challenge_ < cfg_.challenge_ack_interval) { return true; }
  last_challenge_ = now;
  return false;
}

void Connection::challenge_ack(Instant now) noexcept {
  if (oow_rate_limited(now)) { return stats_.add(Counter::TcpChallengeAcksLimited); }
  ack_now_ = true;
}

void Connection::ack_unacceptable(Instant now, const TcpSegment& seg) noexcept {
  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. A duplicate carrying data needs its ACK for the peer's
  // recovery; a bare one (or a SYN, wherever it falls) may be a blind attacker's guess and
  // shares the challenge-ACK limit (RFC 5961 §4.2 and §7; Linux tcp_oow_rate_limited).
  if (seg.seq_len() == 0 || seg.flags.syn()) {
    challenge_ack(now);
  } else {
    ack_now_ = true;
  }
}

bool Connection::paws_allows(Instant now, std::uint32_t tsval) const noexcept {
  if (static_cast<std::int32_t>(tsval - ts_recent_) >= 0) { return true; }
  // RFC 7323 §5.5: after more than 24 days without an update, the peer's clock may have moved
  // by 2^31 ticks or more, so an "older" TSval proves nothing and is taken (Linux
  // tcp_paws_check, TCP_PAWS_24DAYS).
  return now - ts_recent_at_ > kPawsIdleLimit;
}

void Connection::update_ts_recent(Instant now, const TcpSegment& in) noexcept {
  // RFC 7323 §4.3 (2) and §5.3 R3: record the TSval of a segment that was accepted and covers
  // Last.ACK.sent. Only now, after the RST, SYN and ACK checks: a refused segment (an in-window
  // RST or SYN, an ACK of unsent data) must not move it, or the real peer's next segments fail
  // PAWS. Linux does the same (tcp_replace_ts_recent from tcp_ack, after tcp_validate_incoming).
  // The original SEG.SEQ counts, not the one trimmed to the window.
  if (!ts_enabled_ || !in.options.timestamps || !(in.seq <= last_ack_sent_)) { return; }
  if (!paws_allows(now, in.options.timestamps->value)) { return; }
  ts_recent_ = in.options.timestamps->value;
  ts_recent_at_ = now;
}

Connection::Step Connection::check_sequence(Instant now, TcpSegment& seg) {
  const std::uint32_t seg_len = seg.seq_len();
  // RFC 7323 §5.3 R1: PAWS comes before the window test; an RST is exempt.
  if (ts_enabled_ && seg.options.timestamps && !seg.flags.rst() &&
      !paws_allows(now, seg.options.timestamps->value)) {
    stats_.count(Drop::TcpPawsRejected);
    ack_unacceptable(now, seg);
    return Step::Stop;
  }
  const std::int32_t signed_wnd = rcv_.adv_right - rcv_.nxt;
  const std::uint32_t wnd = signed_wnd > 0 ? static_cast<std::uint32_t>(signed_wnd) : 0;
  bool acceptable = false;
  if (seg_len == 0) {
    acceptable = wnd == 0 ? seg.seq == rcv_.nxt : wire::in_window(seg.seq, rcv_.nxt, wnd);
  } else if (wnd > 0) {
    acceptable = wire::in_window(seg.seq, rcv_.nxt, wnd) ||
                 wire::in_window(seg.seq + (seg_len - 1), rcv_.nxt, wnd);
  } else {
    // RFC 9293 §3.10.7.4: with a zero window "special allowance should be made to accept
    // valid ACKs, URGs, and RSTs": keep the header of a segment at RCV.NXT, drop its text.
    acceptable = seg.seq == rcv_.nxt;
    seg.payload = {};
    seg.flags.bits &= static_cast<std::uint8_t>(~TcpFlags::kFin);
    // The text we could not take (a window probe, or data and FIN) still earns an ACK that
    // repeats RCV.NXT and the zero window (RFC 9293 §3.8.6.1), or the prober never learns.
    // The segment itself is acceptable and goes on (its ACK counts), so it is no out-of-window
    // drop: its own counter says what was refused (Linux TCPZeroWindowDrop, tcp_data_queue).
    if (acceptable && !seg.flags.rst()) {
      stats_.add(Counter::TcpZeroWindowProbesIn);
      ack_now_ = true;
    }
  }
  if (!acceptable) {
    stats_.count(Drop::TcpOutOfWindow);
    if (!seg.flags.rst()) { ack_unacceptable(now, seg); }
    return Step::Stop;
  }
  // TS.Recent is not updated here: the RST, SYN and ACK checks may still refuse the segment
  // (update_ts_recent(), once it is accepted).
  if (seg.flags.rst() || seg.flags.syn()) { return Step::Continue; }  // judged whole below
  // Trim to the window: text before RCV.NXT is a duplicate, text past the right edge is not ours
  // to keep (a FIN beyond it goes too).
  if (seg.seq < rcv_.nxt) {
    const auto dup = static_cast<std::uint32_t>(rcv_.nxt - seg.seq);
    if (dup >= seg.payload.size()) {
      if (dup > seg.payload.size()) {
        seg.flags.bits &= static_cast<std::uint8_t>(~TcpFlags::kFin);
      }
      seg.payload = {};
    } else {
      seg.payload = seg.payload.subspan(dup);
    }
    seg.seq = rcv_.nxt;
  }
  const auto room = static_cast<std::uint32_t>(std::max<std::int32_t>(rcv_.adv_right - seg.seq, 0));
  if (seg.payload.size() > room) {
    seg.payload = seg.payload.first(room);
    seg.flags.bits &= static_cast<std::uint8_t>(~TcpFlags::kFin);
  }
  return Step::Continue;
}

Connection::Step Connection::check_rst(Instant now, const TcpSegment& seg, Outbox& /*out*/) {
  if (!seg.flags.rst()) { return Step::Continue; }
  // RFC 5961 §3.2: only an RST exactly at RCV.NXT resets; any other in-window RST earns a
  // challenge ACK, so a blind attacker must guess the exact number.
  if (seg.seq != rcv_.nxt) {
    stats_.count(Drop::TcpRstChallenged);
    challenge_ack(now);
    return Step::Stop;
  }
  stats_.add(Counter::TcpResetsReceived);
  // RFC 9293: a passive SYN_RECEIVED returns to LISTEN; every other state is simply closed.
  enter(state_ == State::SynReceived && passive_ ? State::Listen : State::Closed, now,
        Cause::Segment, &seg);
  return Step::Stop;
}

Connection::Step Connection::check_syn(Instant now, const TcpSegment& seg, Outbox& /*out*/) {
  if (!seg.flags.syn()) { return Step::Continue; }
  // RFC 5961 §4.2 (and RFC 9293 §3.10.7.4 fourth): a SYN in a synchronized state, wherever it
  // falls, gets a challenge ACK; a genuine restarted peer answers it with an RST.
  stats_.count(Drop::TcpSynChallenged);
  challenge_ack(now);
  return Step::Stop;
}

Connection::Step Connection::check_ack(Instant now, const TcpSegment& seg, Outbox& out) {
  if (!seg.flags.ack()) {
    stats_.count(Drop::TcpNoAck);  // RFC 9293 fifth: "if the ACK bit is off, drop"
    return Step::Stop;
  }
  // RFC 5961 §5.2: acceptable acks lie in [SND.UNA - MAX.SND.WND, SND.NXT]. SND.NXT never moves
  // back: retransmissions come from the scoreboard, not from pulling SND.NXT down.
  if (snd_.nxt < seg.ack) {
    if (state_ == State::SynReceived) {
      // RFC 9293 fifth, SYN_RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
      send_segment(now, out, seg.ack, TcpFlags::kRst, {});
      stats_.add(Counter::TcpResetsSent);
      return Step::Stop;
    }
    stats_.count(Drop::TcpAckTooNew);
    challenge_ack(now);
    return Step::Stop;
  }
  if (seg.ack < snd_.una - std::max<std::uint32_t>(snd_.max_wnd, 1)) {
    stats_.count(Drop::TcpAckTooOld);
    challenge_ack(now);
    return Step::Stop;
  }
  // Linux tcp_ack: any ACK not older than SND.UNA answers our zero-window probes.
  if (!(seg.ack < snd_.una)) { probes_out_ = 0; }
  if (state_ == State::SynReceived) {
    if (!(snd_.una < seg.ack)) {
      send_segment(now, out, seg.ack, TcpFlags::kRst, {});
      stats_.add(Counter::TcpResetsSent);
      return Step::Stop;
    }
    // Our SYN is acknowledged: SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ, SND.WL2 <- SEG.ACK.
    snd_.wnd = std::uint32_t{seg.window} << snd_wscale_;
    snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
    snd_.wl1 = seg.seq;
    snd_.wl2 = seg.ack;
    retries_ = 0;
    enter(State::Established, now, Cause::Segment, &seg);
    events_ |= kEstablished;
  }
  // RFC 3168 §6.1.2: an ECN-Echo is congestion without loss, answered once per window; a
  // reduction for loss already covers its window.
  if (ecn_.on_ack(seg, snd_.nxt) && recovery_ == Recovery::Open && cc_) {
    cc_->on_congestion(now, pipe());
    cc_->on_recovery_end(now);
  }
  const std::uint32_t old_wnd = snd_.wnd;
  // RFC 5681 §2's duplicate ACK, which only a peer without SACK needs counted: with SACK the
  // blocks themselves say what arrived (RFC 6675).
  const bool duplicate = seg.ack == snd_.una && !seg.flags.syn() && !seg.flags.fin() &&
                         snd_.una != snd_.nxt && seg.payload.empty() &&
                         (std::uint32_t{seg.window} << snd_wscale_) == old_wnd;
  if (snd_.una < seg.ack || duplicate || seg.options.sack_count > 0) {
    on_ack(now, seg, duplicate);
  }
  update_send_window(seg);
  if (fin_sent_ && snd_.una == fin_seq_ + 1) { fin_acked(now, seg); }
  return state_ == State::Closed ? Step::Stop : Step::Continue;
}

void Connection::on_new_ack(Instant now, const TcpSegment& seg) {
  // Data bytes acknowledged: the SYN and FIN take sequence numbers but no buffer space.
  if (data_seq_ < seg.ack) {
    const auto data_acked =
        std::min<std::size_t>(static_cast<std::uint32_t>(seg.ack - data_seq_), snd_buf_.size());
    snd_buf_.consume(data_acked);
    bytes_acked_ += data_acked;
    data_seq_ = data_seq_ + static_cast<std::uint32_t>(data_acked);
    if (data_acked > 0) { events_ |= kWritable; }
  }
  snd_.una = seg.ack;
  retries_ = 0;
  // A new flight may be probed again (RFC 8985 §7.2); the user timeout counts from here.
  probe_outstanding_ = false;
  unacked_since_ = snd_.una == snd_.nxt ? std::nullopt : std::optional<Instant>{now};
}

unsigned Connection::duplicate_threshold() const noexcept {
  // RFC 5827 early retransmit: with fewer than four segments outstanding and nothing new that
  // may be sent, three duplicates can never arrive, so one fewer than the flight is enough.
  const auto flight = static_cast<std::uint32_t>(snd_.nxt - snd_.una);
  const std::uint32_t segments = (flight + mss_ - 1) / mss_;
  const std::uint32_t wnd = std::min(snd_.wnd, cwnd());
  const bool can_send_new = snd_.nxt < data_end() && wnd > flight;
  if (segments >= 4 || can_send_new) { return 3; }
  return std::max<std::uint32_t>(segments, 2) - 1;
}

void Connection::update_send_window(const TcpSegment& seg) {
  // RFC 9293 fifth: only a segment newer than the last update may change SND.WND.
  if (!(snd_.wl1 < seg.seq || (snd_.wl1 == seg.seq && snd_.wl2 <= seg.ack))) { return; }
  snd_.wnd = std::uint32_t{seg.window} << snd_wscale_;
  snd_.max_wnd = std::max(snd_.max_wnd, snd_.wnd);
  snd_.wl1 = seg.seq;
  snd_.wl2 = seg.ack;
  if (snd_.wnd > 0) {
    // The window opened: probing, its backoff and its user-timeout clock end (Linux
    // tcp_ack_probe).
    persist_.reset();
    persist_backoff_ = 0;
    probing_since_.reset();
  }
}

void Connection::fin_acked(Instant now, const TcpSegment& seg) {
  switch (state_) {
    case State::FinWait1: return enter(State::FinWait2, now, Cause::Segment, &seg);
    case State::Closing: return enter(State::TimeWait, now, Cause::Segment, &seg);
    case State::LastAck: return enter(State::Closed, now, Cause::Segment, &seg);
    default: return;
  }
}

void Connection::process_text(Instant now, const TcpSegment& seg) {
  // RFC 9293 seventh: text is only taken while the peer has not closed.
  if (!kReceiving.contains(state_) || seg.payload.empty() || peer_fin_) { return; }
  const auto off = static_cast<std::uint32_t>(seg.seq - rcv_.nxt);
  const auto len = static_cast<std::uint32_t>(seg.payload.size());
  if (TAPSRV_BUG_IF(rcv_buf_.size() + off + len > rcv_buf_.capacity(), stats_)) {
    return mark_broken();
  }
  if (!rcv_buf_.make_room(rcv_buf_.size() + off + len)) {
    // Buffer memory is at its limit (Linux tcp_try_rmem_schedule failing: TCPRcvQDrop): the
    // segment is not taken nor acknowledged, and the peer sends it again; the duplicate ACK
    // tells it where we are.
    stats_.count(Drop::TcpNoBufferMemory);
    ack_now_ = true;
    return;
  }
  if (off != 0) {
    // Out of order: keep it in place in the ring and ACK at once, with SACK blocks
    // (RFC 5681 §4.2: an out-of-order segment is acknowledged immediately).
    if (reassembly_.add(off, len)) {
      rcv_buf_.write_at(rcv_buf_.size() + off, seg.payload);
      stats_.add(Counter::TcpOutOfOrder);
    } else {
      stats_.count(Drop::TcpReassemblyFull);
    }
    ack_now_ = true;
    return;
  }
  rcv_buf_.write_at(rcv_buf_.size(), seg.payload);
  const bool had_holes = !reassembly_.empty();
  const std::uint32_t extra = reassembly_.advance(len);
  rcv_buf_.commit(len + extra);
  rcv_.nxt += len + extra;
  unacked_bytes_ += len + extra;
  stats_.add(Counter::TcpBytesReceived, len + extra);
  bytes_received_ += len + extra;
  events_ |= kReadable;
  // RFC 5681 §4.2: ACK at least every second full segment, at once when a gap was (partly)
  // filled, and otherwise within the delayed-ACK time.
  if (had_holes || unacked_bytes_ >= 2U * mss_) {
    ack_now_ = true;
  } else if (!delayed_ack_) {
    delayed_ack_ = now + cfg_.delayed_ack;
  }
  if (peer_fin_seq_ && *peer_fin_seq_ == rcv_.nxt) { peer_fin(now, &seg); }
}

void Connection::check_fin(Instant now, const TcpSegment& seg) {
  if (!seg.flags.fin() || peer_fin_) { return; }
  const SeqNum fin_seq = seg.seq + static_cast<std::uint32_t>(seg.payload.size());
  if (fin_seq != rcv_.nxt) {
    // Data before the FIN is missing: remember where the stream ends and wait for it.
    if (kReceiving.contains(state_)) { peer_fin_seq_ = fin_seq; }
    ack_now_ = true;
    return;
  }
  peer_fin(now, &seg);
}

void Connection::peer_fin(Instant now, const TcpSegment* seg) {
  // RFC 9293 eighth: advance RCV.NXT over the FIN, acknowledge it, tell the application.
  peer_fin_ = true;
  peer_fin_seq_.reset();
  rcv_.nxt += 1;
  ack_now_ = true;
  events_ |= kReadable;
  switch (state_) {
    case State::SynReceived:
    case State::Established: return enter(State::CloseWait, now, Cause::Segment, seg);
    case State::FinWait1:
      return enter(fin_sent_ && snd_.una == fin_seq_ + 1 ? State::TimeWait : State::Closing, now,
                   Cause::Segment, seg);
    case State::FinWait2: return enter(State::TimeWait, now, Cause::Segment, seg);
    default: return;
  }
}

}  // namespace tapsrv::tcp
