// What a connection sends: data within the windows (RFC 9293 §3.8.6, Nagle §3.7.4), its FIN,
// and ACKs, each stamped with our window (RFC 7323 scaled) and options.
#include <algorithm>

#include "tapsrv/tcp/connection.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {
constexpr std::uint32_t kMaxUnscaledWindow = 0xffff;

// The 40 bytes of option space hold 4 SACK blocks, or 3 next to timestamps (RFC 2018 §3).
constexpr std::size_t max_sack_blocks(bool timestamps) noexcept { return timestamps ? 3 : 4; }
}  // namespace

SeqNum Connection::data_end() const noexcept {
  return data_seq_ + static_cast<std::uint32_t>(snd_buf_.size());
}

std::uint32_t Connection::ts_clock(Instant now) const noexcept {
  // RFC 7323 §5.4: a millisecond clock, offset per connection (by its ISS) so that it says
  // nothing about the host's uptime.
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  return static_cast<std::uint32_t>(ms.count()) + iss_.raw;
}

void Connection::arm_retransmit(Instant now) noexcept { retransmit_ = now + rtt_.rto(); }

void Connection::advance_nxt(Instant now, SeqNum end) noexcept {
  snd_.nxt = end;
  if (snd_max_ < snd_.nxt) { snd_max_ = snd_.nxt; }
  if (!retransmit_) { arm_retransmit(now); }
}

Duration Connection::persist_interval() const noexcept {
  // The RTO, doubled per unanswered probe, capped like the RTO itself.
  return std::min(rtt_.rto() * (1U << std::min(persist_backoff_, 10U)), cfg_.rto_max);
}

std::uint16_t Connection::advertise_window() {
  // RFC 9293 §3.8.6.2.2 receiver-side SWS avoidance: move the right edge only by at least
  // min(buffer / 2, MSS); and never move it left (§3.8.6).
  const SeqNum right = rcv_.nxt + static_cast<std::uint32_t>(rcv_buf_.free());
  const auto threshold =
      static_cast<std::uint32_t>(std::min<std::size_t>(rcv_buf_.capacity() / 2, mss_));
  if (rcv_.adv_right < right && static_cast<std::uint32_t>(right - rcv_.adv_right) >= threshold) {
    rcv_.adv_right = right;
  }
  if (rcv_.adv_right < rcv_.nxt) { rcv_.adv_right = rcv_.nxt; }
  const auto wnd = static_cast<std::uint32_t>(rcv_.adv_right - rcv_.nxt);
  return static_cast<std::uint16_t>(std::min(wnd >> rcv_wscale_, kMaxUnscaledWindow));
}

void Connection::send_segment(Instant now, Outbox& out, SeqNum seq, std::uint8_t flags,
                              wire::Bytes payload) {
  wire::TcpSegment s{.src_port = id_.local_port,
                     .dst_port = id_.remote_port,
                     .seq = seq,
                     .flags = TcpFlags{flags},
                     .payload = payload};
  if (s.flags.ack()) {
    s.ack = rcv_.nxt;
    s.window = advertise_window();
    last_ack_sent_ = rcv_.nxt;
    ack_now_ = false;
    delayed_ack_.reset();
    unacked_bytes_ = 0;
  }
  if (ts_enabled_) { s.options.timestamps = wire::Timestamps{ts_clock(now), ts_recent_}; }
  if (sack_enabled_ && s.flags.ack() && !reassembly_.empty()) {
    s.options.sack_count =
        reassembly_.sack_blocks(rcv_.nxt, s.options.sack, max_sack_blocks(ts_enabled_));
  }
  if (obs_.wants_segments()) { obs_.on_segment(id_, true, s); }
  stats_.add(Counter::TcpSegmentsOut);
  out.send(id_, s);
}

std::uint32_t Connection::payload_mss() const noexcept {
  // RFC 6691: the MSS counts no options, so the sender takes off the ones it adds. mss_ allows
  // for timestamps already; SACK blocks ride on every segment while a hole is open, two NOPs,
  // kind and length, then 8 bytes a block (Linux's tcp_current_mss does the same).
  if (!sack_enabled_ || reassembly_.empty()) { return mss_; }
  const std::size_t blocks = std::min(reassembly_.size(), max_sack_blocks(ts_enabled_));
  return mss_ - static_cast<std::uint32_t>(4 + 8 * blocks);
}

void Connection::send_syn(Instant now, Outbox& out, bool with_ack) {
  wire::TcpSegment s{.src_port = id_.local_port,
                     .dst_port = id_.remote_port,
                     .seq = iss_,
                     .flags = TcpFlags{static_cast<std::uint8_t>(TcpFlags::kSyn |
                                                                 (with_ack ? TcpFlags::kAck : 0))}};
  // The window of a SYN is unscaled (RFC 7323 §2.2).
  const auto wnd = std::min<std::size_t>(rcv_buf_.free(), kMaxUnscaledWindow);
  s.window = static_cast<std::uint16_t>(wnd);
  s.options.mss = cfg_.our_mss();
  // A SYN offers what we support; a SYN,ACK answers only what the peer offered.
  if (with_ack ? wscale_ok_ : cfg_.window_scaling) { s.options.window_scale = rcv_wscale_; }
  s.options.sack_permitted = sack_enabled_;
  if (ts_enabled_) {
    s.options.timestamps = wire::Timestamps{ts_clock(now), with_ack ? ts_recent_ : 0};
  }
  if (with_ack) {
    s.ack = rcv_.nxt;
    rcv_.adv_right = rcv_.nxt + static_cast<std::uint32_t>(wnd);
    last_ack_sent_ = rcv_.nxt;
  }
  ack_now_ = false;
  if (obs_.wants_segments()) { obs_.on_segment(id_, true, s); }
  stats_.add(Counter::TcpSegmentsOut);
  out.send(id_, s);
}

void Connection::retransmit_head(Instant now, Outbox& out) {
  if (snd_.una < data_end()) {
    const auto payload =
        snd_buf_.contiguous_at(static_cast<std::uint32_t>(snd_.una - data_seq_), payload_mss());
    send_segment(now, out, snd_.una, TcpFlags::kAck, payload);
  } else if (fin_sent_ && snd_.una == fin_seq_) {
    send_segment(now, out, fin_seq_, TcpFlags::kAck | TcpFlags::kFin, {});
  } else {
    return;
  }
  if (timed_seq_ && snd_.una <= *timed_seq_) { timed_seq_.reset(); }  // Karn
  stats_.add(Counter::TcpRetransmits);
  arm_retransmit(now);
}

void Connection::output(Instant now, Outbox& out) {
  if (state_ == State::SynReceived) {
    if (ack_now_) { send_syn_ack(now, out); }
    return;
  }
  if (!kSynchronized.contains(state_)) { return; }
  if (state_ == State::TimeWait) {
    if (ack_now_) { send_segment(now, out, snd_.nxt, TcpFlags::kAck, {}); }
    return;
  }
  // A window update is owed when the application has made room worth announcing while the
  // window we last advertised is too small for the peer to send into (RFC 9293 §3.8.6.2.2).
  // A larger window rides on the next ACK: no extra segment for it.
  const auto advertised = static_cast<std::uint32_t>(rcv_.adv_right - rcv_.nxt);
  const auto possible = static_cast<std::uint32_t>(rcv_buf_.free());
  if (!peer_fin_ && possible > advertised && advertised < 2U * mss_ &&
      possible - advertised >= std::min<std::size_t>(rcv_buf_.capacity() / 2, mss_)) {
    ack_now_ = true;
  }

  bool sent = false;
  const std::uint32_t seg_mss = payload_mss();
  while (snd_.nxt < data_end()) {
    const auto flight = static_cast<std::uint32_t>(snd_.nxt - snd_.una);
    const std::uint32_t wnd = std::min(snd_.wnd, cwnd_);
    const std::uint32_t usable = wnd > flight ? wnd - flight : 0;
    const auto unsent = static_cast<std::uint32_t>(data_end() - snd_.nxt);
    const std::uint32_t len = std::min({seg_mss, unsent, usable});
    if (len == 0) { break; }
    const auto payload =
        snd_buf_.contiguous_at(static_cast<std::uint32_t>(snd_.nxt - data_seq_), len);
    const bool resend = snd_.nxt < snd_max_;
    if (payload.size() < seg_mss && !resend) {
      // Nagle (RFC 9293 §3.7.4) and sender SWS avoidance (§3.8.6.2.1): a short segment goes
      // only when it is all we have and nothing is in flight, or it is half the peer's
      // largest window. A piece cut short by the ring's end is not short: more follows.
      const bool cut_by_ring = payload.size() < len;
      const bool all_queued = payload.size() == unsent;
      const bool allowed = cut_by_ring || sws_override_ ||
                           (all_queued && (flight == 0 || !cfg_.nagle || fin_queued_)) ||
                           payload.size() >= snd_.max_wnd / 2;
      if (!allowed) { break; }
      sws_override_ = false;
    }
    if (!resend && !timed_seq_) {
      timed_seq_ = snd_.nxt;
      timed_at_ = now;
    }
    const bool last = payload.size() == unsent;
    send_segment(now, out, snd_.nxt, TcpFlags::kAck | (last ? TcpFlags::kPsh : 0), payload);
    stats_.add(resend ? Counter::TcpRetransmits : Counter::TcpBytesSent,
               resend ? 1 : payload.size());
    advance_nxt(now, snd_.nxt + static_cast<std::uint32_t>(payload.size()));
    if (!loss_probe_) { arm_loss_probe(now); }
    if (!unacked_since_) { unacked_since_ = now; }
    sent = true;
  }
  // Our FIN follows the last byte of data, first time or again after a go-back.
  if (fin_queued_ && snd_.nxt == data_end() && (!fin_sent_ || snd_.nxt == fin_seq_)) {
    if (fin_sent_) { stats_.add(Counter::TcpRetransmits); }
    fin_sent_ = true;
    fin_seq_ = snd_.nxt;
    send_segment(now, out, fin_seq_, TcpFlags::kAck | TcpFlags::kFin, {});
    advance_nxt(now, fin_seq_ + 1);
    sent = true;
  }
  if (ack_now_ && !sent) { send_segment(now, out, snd_.nxt, TcpFlags::kAck, {}); }
  // RFC 9293 §3.8.6.1: data waits behind a zero window; probe it so a lost update cannot
  // deadlock us. The same timer is RFC 1122 §4.2.3.4's override: data held back by sender SWS
  // avoidance while nothing is in flight would otherwise wait for an ACK that never comes.
  if (snd_.nxt < data_end() && !retransmit_ && !persist_) { persist_ = now + persist_interval(); }
}

}  // namespace tapsrv::tcp
