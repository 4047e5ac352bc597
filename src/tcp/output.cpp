// What a connection sends: data within the windows (RFC 9293 §3.8.6, Nagle §3.7.4), its FIN,
// and ACKs, each stamped with our window (RFC 7323 scaled) and options.
#include <algorithm>

#include "tapsrv/tcp/connection.hpp"
#include "tapsrv/tcp/time_wait.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {
constexpr std::uint32_t kMaxUnscaledWindow = 0xffff;
// How far ahead of the paced schedule a burst may go, and how much one TSO segment may carry
// of the pacing rate: Linux's tcp_tso_autosize uses 1 ms (sk_pacing_shift 10), and fq paces
// TSO segments whole.
constexpr Duration kPacingHorizon = std::chrono::milliseconds{1};
}  // namespace

bool Connection::pacing_allows(Instant now) noexcept {
  if (!cc_ || !cc_->pacing_rate()) { return true; }
  if (!(now + kPacingHorizon < pacing_next_)) {
    pace_.reset();
    return true;
  }
  pace_ = pacing_next_ - kPacingHorizon;
  return false;
}

void Connection::on_paced(Instant now, std::uint32_t bytes) noexcept {
  const auto rate = cc_ ? cc_->pacing_rate() : std::nullopt;
  if (!rate || *rate == 0) { return; }
  const auto spacing =
      Duration{static_cast<Duration::rep>(std::uint64_t{bytes} * 1'000'000 / *rate)};
  pacing_next_ = std::max(pacing_next_, now) + spacing;
}

SeqNum Connection::data_end() const noexcept {
  return data_seq_ + static_cast<std::uint32_t>(snd_buf_.size());
}

std::uint32_t Connection::ts_clock(Instant now) const noexcept {
  return tcp::ts_clock(now, iss_.raw);  // offset by the ISS (RFC 7323 §5.4)
}

void Connection::arm_retransmit(Instant now) noexcept {
  retransmit_ = now + rtt_.rto();
  // Linux tcp_clamp_rto_to_user_timeout: a backed-off RTO must not carry the connection past
  // its user timeout (RFC 5482); the timer then fires at it and on_retransmit_timeout() resets.
  if (cfg_.user_timeout && unacked_since_ && kSynchronized.contains(state_) &&
      state_ != State::SynReceived) {
    retransmit_ = std::min(*retransmit_, std::max(now, *unacked_since_ + *cfg_.user_timeout));
  }
}

void Connection::advance_nxt(Instant now, SeqNum end) noexcept {
  snd_.nxt = end;
  if (!retransmit_) { arm_retransmit(now); }
}

Duration Connection::persist_interval() const noexcept {
  // The RTO, doubled per unanswered probe, capped like the RTO itself.
  return std::min(rtt_.rto() * (1U << std::min(persist_backoff_, 10U)), cfg_.rto_max);
}

std::size_t Connection::receive_space() const noexcept {
  // Under memory pressure the right edge only moves over storage the ring already holds, so
  // windows close as the budget runs out (Linux tcp_clamp_window and rcv_ssthresh under
  // tcp_under_memory_pressure).
  if (!budget_.under_pressure()) { return rcv_buf_.free(); }
  const std::size_t held = std::max(rcv_buf_.allocated(), BufferBudget::kGuaranteed);
  return std::min(rcv_buf_.capacity(), held) - rcv_buf_.size();
}

std::uint16_t Connection::advertise_window() {
  // RFC 9293 §3.8.6.2.2 receiver-side SWS avoidance: move the right edge only by at least
  // min(buffer / 2, MSS); and never move it left (§3.8.6).
  const SeqNum right = rcv_.nxt + static_cast<std::uint32_t>(receive_space());
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
  // Each piece the device cuts carries these same options, so it is cut at the payload MSS.
  if (const std::uint32_t piece = send_mss(); payload.size() > piece) {
    s.tso_segment_size = static_cast<std::uint16_t>(piece);
  }
  if (s.flags.ack()) {
    s.ack = rcv_.nxt;
    s.window = advertise_window();
    last_ack_sent_ = rcv_.nxt;
    ack_now_ = false;
    delayed_ack_.reset();
    unacked_bytes_ = 0;
  }
  if (!s.flags.rst()) {
    // RFC 3168 §6.1: ECT(0) on new data only, ECE while echoing CE, CWR after a reduction.
    const EcnMarking m = ecn_.on_send(!payload.empty(), seq < snd_.nxt);
    s.ecn = m.ecn;
    s.flags.bits |= m.flags;
  }
  if (ts_enabled_) { s.options.timestamps = wire::Timestamps{ts_clock(now), ts_recent_}; }
  if (sack_enabled_ && s.flags.ack() && !reassembly_.empty()) {
    s.options.sack_count = reassembly_.sack_blocks(rcv_.nxt, s.options.sack, sack_blocks_to_send());
  }
  if (obs_.wants_segments()) { obs_.on_segment(id_, true, s); }
  stats_.add(Counter::TcpSegmentsOut);
  bytes_sent_ += payload.size();
  out.send(id_, s);
}

void Connection::send_syn(Instant now, Outbox& out, bool with_ack) {
  wire::TcpSegment s{.src_port = id_.local_port,
                     .dst_port = id_.remote_port,
                     .seq = iss_,
                     .flags = TcpFlags{static_cast<std::uint8_t>(TcpFlags::kSyn |
                                                                 (with_ack ? TcpFlags::kAck : 0))}};
  // RFC 3168 §6.1.1: ECE on our SYN-ACK when we agreed, ECE|CWR on a SYN that asks.
  s.flags.bits |= with_ack ? ecn_.syn_ack_flags() : ecn_.syn_flags(retries_ > 0);
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

void Connection::retransmit(Instant now, Outbox& out, std::size_t i, std::uint32_t max_len) {
  const SentSegment& e = sb_.entry(i);
  std::uint32_t len = 1;
  if (e.has(SentSegment::kFin)) {
    send_segment(now, out, e.begin, TcpFlags::kAck | TcpFlags::kFin, {});
  } else {
    // Whole pieces of the MSS the range was sent with, so the device cuts no runt from it.
    len = std::min(e.len, max_len);
    if (len < e.len && len > e.mss && e.mss > 0) { len -= len % e.mss; }
    const auto payload =
        snd_buf_.contiguous_at(static_cast<std::uint32_t>(e.begin - data_seq_), len);
    // Cannot be empty: a data range stays in the send buffer until it is acknowledged.
    if (payload.empty()) { return; }
    len = static_cast<std::uint32_t>(payload.size());
    const bool last = e.begin + len == data_end();
    send_segment(now, out, e.begin, TcpFlags::kAck | (last ? TcpFlags::kPsh : 0), payload);
  }
  sb_.on_retransmit(i, len, now, tx_stamp(now));
  on_paced(now, len);
  stats_.add(Counter::TcpRetransmits);
  ++retransmits_;
  if (recovery_ == Recovery::Fast) { prr_out_ += len; }
  if (undo_possible_) {
    undo_retrans_ = std::max<std::int64_t>(undo_retrans_, 0) + len;
    if (!retrans_tsval_ && ts_enabled_) { retrans_tsval_ = ts_clock(now); }
  }
  if (!retransmit_) { arm_retransmit(now); }
}

bool Connection::send_new_data(Instant now, Outbox& out, std::uint32_t len, std::uint32_t unsent) {
  const auto payload =
      snd_buf_.contiguous_at(static_cast<std::uint32_t>(snd_.nxt - data_seq_), len);
  const auto flight = static_cast<std::uint32_t>(snd_.nxt - snd_.una);
  if (payload.size() < send_mss()) {
    // Nagle (RFC 9293 §3.7.4) and sender SWS avoidance (§3.8.6.2.1): a short segment goes
    // only when it is all we have and nothing is in flight, or it is half the peer's
    // largest window. A piece cut short by the ring's end is not short: more follows.
    const bool cut_by_ring = payload.size() < len;
    const bool all_queued = payload.size() == unsent;
    const bool allowed = cut_by_ring || sws_override_ ||
                         (all_queued && (flight == 0 || !cfg_.nagle || fin_queued_)) ||
                         payload.size() >= snd_.max_wnd / 2;
    if (!allowed) { return false; }
    sws_override_ = false;
  }
  const bool last = payload.size() == unsent;
  const auto piece = static_cast<std::uint16_t>(std::min<std::uint32_t>(send_mss(), 0xffff));
  const TxStamp tx = tx_stamp(now);
  send_segment(now, out, snd_.nxt, TcpFlags::kAck | (last ? TcpFlags::kPsh : 0), payload);
  sb_.on_send(snd_.nxt, static_cast<std::uint32_t>(payload.size()), piece, false, now, tx);
  on_paced(now, static_cast<std::uint32_t>(payload.size()));
  stats_.add(Counter::TcpBytesSent, payload.size());
  if (recovery_ == Recovery::Fast) { prr_out_ += static_cast<std::uint32_t>(payload.size()); }
  advance_nxt(now, snd_.nxt + static_cast<std::uint32_t>(payload.size()));
  if (!loss_probe_) { arm_loss_probe(now); }
  if (!unacked_since_) { unacked_since_ = now; }
  return true;
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
  const auto possible = static_cast<std::uint32_t>(receive_space());
  if (!peer_fin_ && possible > advertised && advertised < 2U * mss_ &&
      possible - advertised >= std::min<std::size_t>(rcv_buf_.capacity() / 2, mss_)) {
    ack_now_ = true;
  }

  bool sent = false;
  const std::uint32_t seg_mss = send_mss();
  std::uint32_t max_len = std::max(seg_mss, cfg_.tso_max_payload / seg_mss * seg_mss);
  if (const auto rate = cc_ ? cc_->pacing_rate() : std::nullopt) {
    // Linux tcp_tso_autosize: a segment carries about 1 ms at the pacing rate, two at least.
    const std::uint64_t per_ms = *rate / 1000 / seg_mss * seg_mss;
    max_len = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(max_len, std::max<std::uint64_t>(2 * seg_mss, per_ms)));
  }
  // Room under the congestion window in whole segments, as Linux counts it in packets: one
  // more segment may go whenever pipe is below cwnd.
  const auto cwnd_room = [&]() -> std::uint32_t {
    const std::uint32_t wnd = cwnd();
    const std::uint32_t in_flight = pipe();
    if (in_flight >= wnd) { return 0; }
    return (wnd - in_flight + seg_mss - 1) / seg_mss * seg_mss;
  };
  bool stopped_by_cwnd = false;
  // RFC 6675 §5 NextSeg(): what was judged lost goes first (rule 1), then new data (rule 2).
  for (std::size_t i = sb_.next_lost(); i < sb_.size(); i = sb_.next_lost()) {
    const std::uint32_t room = cwnd_room();
    if (room == 0) {
      stopped_by_cwnd = true;
      break;
    }
    if (!pacing_allows(now)) { break; }
    retransmit(now, out, i, std::min(room, max_len));
    sent = true;
  }
  while (!stopped_by_cwnd && snd_.nxt < data_end()) {
    const auto flight = static_cast<std::uint32_t>(snd_.nxt - snd_.una);
    const std::uint32_t rwnd_room = snd_.wnd > flight ? snd_.wnd - flight : 0;
    const std::uint32_t room = cwnd_room();
    const auto unsent = static_cast<std::uint32_t>(data_end() - snd_.nxt);
    std::uint32_t len = std::min({max_len, unsent, rwnd_room, room});
    // A TSO segment ends on an MSS boundary unless it carries the last bytes we have, so the
    // device does not cut a runt out of the middle of the stream.
    if (len > seg_mss && len < unsent) { len -= len % seg_mss; }
    if (room == 0) { stopped_by_cwnd = true; }
    if (len == 0 || !pacing_allows(now) || !send_new_data(now, out, len, unsent)) { break; }
    sent = true;
  }
  // RFC 7661 §4.3 / Linux tcp_cwnd_validate: whether this flight used the window, kept until
  // the flight is acknowledged so that one quiet moment does not freeze growth.
  if (stopped_by_cwnd || !(snd_.una < cwnd_usage_seq_)) {
    cwnd_limited_ = stopped_by_cwnd;
    cwnd_usage_seq_ = snd_.nxt;
  }
  maybe_grow_send_buffer();
  // Nothing left to send with room in the window: rate samples until this flight is acknowledged
  // describe the application, not the path (Linux tcp_rate_check_app_limited).
  if (snd_.nxt == data_end() && !stopped_by_cwnd && sb_.lost() == 0) {
    rate_.mark_app_limited(pipe());
  }
  // Our FIN follows the last byte of data; a lost FIN is resent from the scoreboard.
  if (fin_queued_ && !fin_sent_ && snd_.nxt == data_end()) {
    fin_sent_ = true;
    fin_seq_ = snd_.nxt;
    const TxStamp tx = tx_stamp(now);
    send_segment(now, out, fin_seq_, TcpFlags::kAck | TcpFlags::kFin, {});
    sb_.on_send(fin_seq_, 1, 1, true, now, tx);
    advance_nxt(now, fin_seq_ + 1);
    if (!loss_probe_) { arm_loss_probe(now); }
    if (!unacked_since_) { unacked_since_ = now; }
    sent = true;
  }
  if (ack_now_ && !sent) { send_segment(now, out, snd_.nxt, TcpFlags::kAck, {}); }
  // RFC 9293 §3.8.6.1: data waits behind a zero window; probe it so a lost update cannot
  // deadlock us. The same timer is RFC 1122 §4.2.3.4's override: data held back by sender SWS
  // avoidance while nothing is in flight would otherwise wait for an ACK that never comes.
  if (snd_.nxt < data_end() && !retransmit_ && !persist_) { arm_persist(now); }
}

}  // namespace tapsrv::tcp
