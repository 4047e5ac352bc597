// Connection set-up, user calls and the single way to change state.
#include "tapsrv/tcp/connection.hpp"

#include <algorithm>

#include "tapsrv/core/bug.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;

namespace {

// RFC 9293 §3.7.1: without the option a peer accepts 536 bytes. Linux refuses to go below
// 48 bytes (TCP_MIN_SND_MSS), which keeps a hostile tiny MSS from costing a segment per byte.
constexpr std::uint16_t kDefaultMss = 536;
constexpr std::uint16_t kMinMss = 48;
constexpr std::uint16_t kTimestampsLen = 12;
// RFC 9293 §3.1: the data offset leaves 40 bytes for options. RFC 2018 §3: a SACK option is
// 2 + 8n bytes, 4 + 8n with the two NOPs that align it (Linux TCPOLEN_SACK_BASE_ALIGNED).
constexpr std::uint32_t kMaxOptionSpace = 40;
constexpr std::uint32_t kSackBase = 4;
constexpr std::uint32_t kSackPerBlock = 8;
// What a segment carrying SACK blocks keeps for data at least: TCP_MIN_SND_MSS (48) less the
// full 40 bytes of options, so that an MSS of 48 still takes every block that fits.
constexpr std::uint32_t kMinSackPayload = 8;

}  // namespace

Connection::Connection(const Config& cfg, const FourTuple& id, Stats& stats, Observer& obs,
                       BufferBudget& budget)
    : cfg_{cfg},
      id_{id},
      stats_{stats},
      obs_{obs},
      budget_{budget},
      snd_buf_{cfg.send_buffer, &budget},
      rcv_buf_{cfg.recv_buffer, &budget},
      rtt_{cfg.rto_initial, cfg.rto_min, cfg.rto_max} {}

Connection::~Connection() = default;

void Connection::maybe_grow_send_buffer() noexcept {
  if (!cfg_.send_buffer_autotune || snd_buf_.free() > mss_ || snd_.nxt != data_end()) { return; }
  const std::uint32_t in_flight = pipe();
  const auto flight = static_cast<std::uint32_t>(snd_.nxt - snd_.una);
  if (in_flight >= cwnd() || flight + mss_ > snd_.wnd) { return; }  // a window is the limit
  const std::size_t target =
      std::min(cfg_.send_buffer_max, std::size_t{3} * std::max<std::size_t>(cwnd(), snd_.wnd / 2));
  // Linux sk_stream_moderate_sndbuf: no growth while buffer memory is under pressure.
  if (target <= snd_buf_.capacity() || budget_.under_pressure()) { return; }
  stats_.add(Counter::TcpSendBufferGrown, target - snd_buf_.capacity());
  snd_buf_.set_capacity(target);
  events_ |= kWritable;
}

void Connection::open_passive(Instant now, const wire::TcpSegment& syn, SeqNum iss, Outbox& out) {
  accept_syn(now, syn, iss, Cause::Segment);
  send_syn_ack(now, out);
  arm_retransmit(now);
}

void Connection::open_from_cookie(Instant now, const wire::TcpSegment& syn, SeqNum iss,
                                  const wire::TcpSegment& ack, Outbox& out) {
  accept_syn(now, syn, iss, Cause::SynCookie);
  // What the stateless SYN-ACK promised (Engine::send_cookie), or the data riding on this ACK
  // would fall outside a zero window.
  rcv_.adv_right = rcv_.nxt + std::uint32_t{cfg_.syn_window()};
  last_ack_sent_ = rcv_.nxt;
  // RFC 9293 §3.10.7.4 for the ACK; the RST and SYN checks cannot apply (the precondition).
  wire::TcpSegment seg = ack;
  if (check_sequence(now, seg) == Step::Stop) { return; }
  heard_from_peer(now);
  if (check_ack(now, seg, out) == Step::Stop) { return; }
  update_ts_recent(now, ack);
  if (ecn_.on_segment(seg)) { ack_now_ = true; }
  process_text(now, seg);
  check_fin(now, seg);
}

void Connection::accept_syn(Instant now, const wire::TcpSegment& syn, SeqNum iss, Cause cause) {
  now_ = now;
  // RFC 9293 §3.10.7.2 third: RCV.NXT = SEG.SEQ + 1, IRS = SEG.SEQ, SND.UNA = ISS.
  irs_ = syn.seq;
  rcv_.nxt = syn.seq + 1;
  rcv_.adv_right = rcv_.nxt;
  start_send_sequence(iss);
  // The window of a SYN is never scaled (RFC 7323 §2.2).
  snd_.wnd = syn.window;
  snd_.max_wnd = syn.window;
  snd_.wl1 = syn.seq;
  snd_.wl2 = iss;

  negotiate(syn.options);
  ecn_.on_syn(syn);  // RFC 3168 §6.1.1: did the SYN ask for ECN?
  enter(State::SynReceived, now, cause, cause == Cause::Segment ? &syn : nullptr);
}

void Connection::negotiate(const wire::TcpOptions& o) {
  // RFC 7323 §2.2: scaling is on only when both SYNs carry the option.
  wscale_ok_ = cfg_.window_scaling && o.window_scale.has_value();
  if (wscale_ok_) {
    snd_wscale_ = std::min<std::uint8_t>(*o.window_scale, 14);  // RFC 7323 §2.3
    rcv_wscale_ = cfg_.our_window_shift();
  } else {
    snd_wscale_ = 0;
    rcv_wscale_ = 0;
  }
  ts_enabled_ = cfg_.timestamps && o.timestamps.has_value();
  if (ts_enabled_) {
    ts_recent_ = o.timestamps->value;
    ts_recent_at_ = now_;
  }
  sack_enabled_ = cfg_.sack && o.sack_permitted;
  const std::uint16_t peer_mss = std::max(o.mss.value_or(kDefaultMss), kMinMss);
  mss_ = static_cast<std::uint16_t>(std::min(peer_mss, cfg_.our_mss()) -
                                    (ts_enabled_ ? kTimestampsLen : 0));
  // The ISS differs per connection and is secret (RFC 6528): a fine seed for BBR's phase.
  cc_ = make_congestion_control(cfg_.congestion_control, mss_,
                                cfg_.initial_cwnd_segments * std::uint32_t{mss_}, iss_.raw);
}

std::size_t Connection::sack_blocks_to_send() const noexcept {
  if (!sack_enabled_ || reassembly_.empty()) { return 0; }
  // Linux tcp_established_options: as many blocks as the option space left beside timestamps
  // holds (3 with them, 4 without); RFC 2018 §4 puts the newest first, so those are kept.
  const std::uint32_t space = kMaxOptionSpace - (ts_enabled_ ? kTimestampsLen : 0U);
  const std::uint32_t by_space = (space - kSackBase) / kSackPerBlock;
  // And as many as leave kMinSackPayload bytes of the MSS for data. Linux needs no such rule,
  // as its MSS never drops below 48; ours may at an MTU under Config::kMinMtu (configs made in
  // code), and without it the option would eat the whole MSS: a zero or wrapped send_mss().
  const std::uint32_t by_payload = mss_ >= kSackBase + kSackPerBlock + kMinSackPayload
                                       ? (mss_ - kSackBase - kMinSackPayload) / kSackPerBlock
                                       : 0;
  return std::min<std::size_t>({reassembly_.size(), by_space, by_payload});
}

std::uint32_t Connection::send_mss() const noexcept {
  // RFC 9293 §3.7.1: options count against the MSS, and mss_ only allows for timestamps. While
  // there are blocks to report, Linux shrinks the payload by the SACK option (tcp_current_mss):
  // two NOPs, kind and length, 8 bytes a block. Dropping the blocks from full segments instead
  // would hide them from a peer whose data we echo, and sending both would exceed the MTU.
  // sack_blocks_to_send() leaves at least kMinSackPayload, so this is never 0 nor wraps.
  const std::size_t blocks = sack_blocks_to_send();
  return mss_ - (blocks == 0 ? 0U : kSackBase + kSackPerBlock * static_cast<std::uint32_t>(blocks));
}

void Connection::start_send_sequence(SeqNum iss) noexcept {
  // RFC 9293 §3.3.1: SND.UNA = ISS, SND.NXT = ISS + 1 once the SYN is out; data starts after.
  iss_ = iss;
  snd_.una = iss;
  snd_.nxt = iss + 1;
  data_seq_ = iss + 1;
  recover_ = iss;
}

void Connection::open_active(Instant now, SeqNum iss, Outbox& out) {
  now_ = now;
  passive_ = false;
  state_ = State::Closed;
  start_send_sequence(iss);
  // What we offer; negotiate() settles it when the SYN,ACK shows what the peer accepted.
  rcv_wscale_ = cfg_.window_scaling ? cfg_.our_window_shift() : 0;
  ts_enabled_ = cfg_.timestamps;
  sack_enabled_ = cfg_.sack;
  enter(State::SynSent, now, Cause::Connect);
  send_syn(now, out, false);
  arm_retransmit(now);
}

void Connection::consume(std::size_t n) noexcept { rcv_buf_.consume(std::min(n, readable())); }

bool Connection::release_idle_buffers() noexcept {
  const std::size_t held = snd_buf_.allocated() + rcv_buf_.allocated();
  snd_buf_.release();
  if (snd_buf_.allocated() == 0 && snd_buf_.capacity() > cfg_.send_buffer) {
    // Idle again: the next burst starts from the initial size, as a new connection would.
    snd_buf_.set_capacity(cfg_.send_buffer);
  }
  sb_.release();
  // Out-of-order bytes sit in the receive ring past its readable part: keep it while any wait.
  if (reassembly_.empty()) {
    rcv_buf_.release();
    reassembly_.release();
  }
  stats_.add(Counter::TcpBufferBytesReleased, held - snd_buf_.allocated() - rcv_buf_.allocated());
  return !holds_buffers();
}

std::size_t Connection::writable() const noexcept {
  if (fin_queued_ || !kSending.contains(state_)) { return 0; }
  return snd_buf_.room();
}

std::size_t Connection::write(wire::Bytes data) {
  if (writable() == 0) { return 0; }
  return snd_buf_.push(data);
}

void Connection::close() {
  const Instant now = now_;
  if (fin_queued_) { return; }
  fin_queued_ = true;
  // RFC 9293 §3.10.4: the state changes now; the FIN follows the queued data (output()).
  switch (state_) {
    case State::SynReceived:
    case State::Established: return enter(State::FinWait1, now, Cause::AppClose);
    case State::CloseWait: return enter(State::LastAck, now, Cause::AppClose);
    default: return;
  }
}

void Connection::abort(Instant now, Outbox& out, Cause cause) {
  if (state_ == State::Closed || state_ == State::Listen) { return; }
  if (kSynchronized.contains(state_) && state_ != State::TimeWait) {
    // RFC 9293 §3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST>; with ACK, as Linux sends it.
    send_segment(now, out, snd_.nxt, TcpFlags::kRst | TcpFlags::kAck, {});
    stats_.add(Counter::TcpResetsSent);
  }
  enter(State::Closed, now, cause);
}

std::optional<Instant> Connection::next_deadline() const noexcept {
  std::optional<Instant> earliest;
  for (const auto& t : {retransmit_, loss_probe_, reorder_, pace_, persist_, delayed_ack_,
                        fin_wait2_, keepalive_}) {
    if (t && (!earliest || *t < *earliest)) { earliest = t; }
  }
  return earliest;
}

TimeWaitRecord Connection::time_wait_record() const noexcept {
  // Linux tcp_time_wait copies the same into its bucket: what acknowledging a repeated FIN,
  // judging a segment and recognising a new incarnation need (tcp_timewait_state_process).
  const auto wnd = static_cast<std::uint32_t>(std::max<std::int32_t>(rcv_.adv_right - rcv_.nxt, 0));
  return TimeWaitRecord{
      .id = id_,
      .snd_nxt = snd_.nxt,
      .rcv_nxt = rcv_.nxt,
      .ts_recent = ts_recent_,
      .ts_offset = iss_.raw,
      .max_snd_wnd = snd_.max_wnd,
      .window = static_cast<std::uint16_t>(std::min<std::uint32_t>(wnd >> rcv_wscale_, 0xffff)),
      .rcv_wscale = rcv_wscale_,
      .ts_enabled = ts_enabled_,
      .challenged = last_challenge_.has_value(),
      .expiry = time_wait_.value_or(now_ + 2 * cfg_.msl),
      .last_challenge = last_challenge_.value_or(Instant{})};
}

void Connection::enter(State next, Instant now, Cause cause, const wire::TcpSegment* seg) {
  if (TAPSRV_BUG_IF(!is_legal_transition(state_, next), stats_)) {
    return mark_broken();  // stay in a state we know; the engine resets the connection
  }
  obs_.on_transition(id_, state_, next, cause, seg);
  state_ = next;
  state_since_ = now;
  if (!created_) { created_ = now; }
  switch (next) {
    case State::Established:
      stats_.add(Counter::TcpConnectionsEstablished);
      heard_from_peer(now);
      break;
    case State::FinWait2: fin_wait2_ = now + cfg_.fin_wait2_timeout; break;
    case State::TimeWait:
      // RFC 9293 §3.10.7.4: only the 2 MSL timer runs in TIME_WAIT, and it runs in the record
      // the engine makes of the connection next (time_wait_record()).
      time_wait_ = now + 2 * cfg_.msl;
      keepalive_.reset();
      retransmit_.reset();
      loss_probe_.reset();
      reorder_.reset();
      pace_.reset();
      persist_.reset();
      delayed_ack_.reset();
      fin_wait2_.reset();
      break;
    case State::Closed:
    case State::Listen:
      keepalive_.reset();
      retransmit_.reset();
      loss_probe_.reset();
      reorder_.reset();
      pace_.reset();
      persist_.reset();
      delayed_ack_.reset();
      time_wait_.reset();
      fin_wait2_.reset();
      break;
    default: break;
  }
}

}  // namespace tapsrv::tcp
