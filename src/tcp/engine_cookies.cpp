// The listener's half of SYN cookies (RFC 4987 §3.6): a SYN-ACK that keeps no state once the
// backlog is full, and a connection made straight from the ACK that returns a valid cookie.
#include <algorithm>

#include "tapsrv/core/bug.hpp"
#include "tapsrv/tcp/engine.hpp"

namespace tapsrv::tcp {

using wire::TcpFlags;
using wire::TcpSegment;

namespace {

// Linux checks cookies only within TCP_SYNCOOKIE_VALID (2 min) of sending one: without a
// flood, an ACK to a listener is reset as RFC 9293 says, and there is no cookie to guess.
constexpr Duration kCookiesValidFor = std::chrono::minutes{2};
// RFC 9293 §3.7.1: a SYN without the option allows 536.
constexpr std::uint16_t kDefaultMss = 536;

// Connection::ts_clock's formula: the connection that grows from this cookie keeps stamping
// with it, so its later TSvals follow the SYN-ACK's.
std::uint32_t ts_clock(Instant now, wire::SeqNum iss) noexcept {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  return static_cast<std::uint32_t>(ms.count()) + iss.raw;
}

}  // namespace

bool Engine::cookies_recently_sent(Instant now) const noexcept {
  return last_cookie_sent_ && now - *last_cookie_sent_ < kCookiesValidFor;
}

void Engine::send_cookie(Instant now, const FourTuple& id, const TcpSegment& syn, Outbox& out) {
  last_cookie_sent_ = now;
  const wire::SeqNum iss = cookies_.make(id, syn.seq, syn.options.mss.value_or(kDefaultMss), now);
  TcpSegment synack{.src_port = syn.dst_port,
                    .dst_port = syn.src_port,
                    .seq = iss,
                    .ack = syn.seq + 1,
                    .flags = TcpFlags{TcpFlags::kSyn | TcpFlags::kAck},
                    .window = cfg_.syn_window()};
  synack.options.mss = cfg_.our_mss();
  // Only TSecr brings anything but the MSS back, so without timestamps we offer nothing else
  // (Linux, tcp_conn_request: tcp_clear_options when the SYN had no timestamp).
  if (cfg_.timestamps && syn.options.timestamps) {
    CookieTsOptions kept;
    if (cfg_.window_scaling && syn.options.window_scale) {
      kept.window_scale = std::min<std::uint8_t>(*syn.options.window_scale, 14);
      synack.options.window_scale = cfg_.our_window_shift();
    }
    kept.sack_permitted = cfg_.sack && syn.options.sack_permitted;
    synack.options.sack_permitted = kept.sack_permitted;
    synack.options.timestamps =
        wire::Timestamps{cookie_timestamp(ts_clock(now, iss), kept), syn.options.timestamps->value};
  }
  stats_.add(Counter::TcpSynCookiesSent);
  stats_.add(Counter::TcpSegmentsOut);
  if (obs_.wants_segments()) { obs_.on_segment(id, true, synack); }
  out.send(id, synack);
}

void Engine::on_cookie_ack(Instant now, const FourTuple& id, const TcpSegment& seg,
                           HandlerFactory& factory, Outbox& out) {
  // RFC 4987 §3.6: SEG.ACK - 1 must be a cookie we made for this 4-tuple and the SYN at
  // SEG.SEQ - 1. A TSecr can only be ours if we offer timestamps at all.
  const wire::SeqNum iss = seg.ack - 1;
  const auto mss = cookies_.check(id, seg.seq - 1, iss, now);
  if (!mss || (seg.options.timestamps && !cfg_.timestamps)) {
    stats_.count(Drop::TcpSynCookieFailed);
    return reply_reset(now, id, seg, out);
  }
  if (table_.size() >= cfg_.max_connections) {
    stats_.count(Drop::TcpTooManyConns);
    return reply_reset(now, id, seg, out);
  }
  // The SYN as far as the cookie remembers it.
  TcpSegment syn{.src_port = seg.src_port,
                 .dst_port = seg.dst_port,
                 .seq = seg.seq - 1,
                 .flags = TcpFlags{TcpFlags::kSyn},
                 .window = seg.window};
  syn.options.mss = *mss;
  if (seg.options.timestamps) {
    const CookieTsOptions kept = decode_cookie_timestamp(seg.options.timestamps->echo);
    syn.options.window_scale = kept.window_scale;
    syn.options.sack_permitted = kept.sack_permitted;
    syn.options.timestamps = wire::Timestamps{seg.options.timestamps->value, 0};
  }
  stats_.add(Counter::TcpSynCookiesValidated);
  stats_.add(Counter::TcpConnectionsAccepted);
  Connection& c = add(id, factory);
  c.open_from_cookie(now, syn, iss, seg, out);
  // The ACK acknowledges exactly our SYN and sits at RCV.NXT, so it always establishes.
  if (TAPSRV_BUG_IF(c.state() == State::SynReceived, stats_)) {
    c.abort(now, out, Cause::SynCookie);
  }
  settle(now, c, out, false);
}

}  // namespace tapsrv::tcp
