// TIME_WAIT records: RFC 9293 §3.10.7.4 for a connection that is only a record, in the order
// of Linux's tcp_timewait_state_process, with RFC 5961 and RFC 7323 (PAWS) as the connection
// applies them, and RFC 6191 for a new SYN.
#include "tapsrv/tcp/time_wait.hpp"

#include <algorithm>

#include "tapsrv/core/bug.hpp"

namespace tapsrv::tcp {

using wire::SeqNum;
using wire::TcpFlags;
using wire::TcpSegment;

namespace {

/// RFC 6191 §2 (and RFC 1122 §4.2.2.13): a SYN may reopen TIME_WAIT when its timestamp, or
/// without timestamps its sequence number, shows it belongs to a new incarnation.
bool is_new_incarnation(const TimeWaitRecord& r, const TcpSegment& syn) noexcept {
  if (r.ts_enabled && syn.options.timestamps) {
    const auto age = static_cast<std::int32_t>(syn.options.timestamps->value - r.ts_recent);
    // Deviation: RFC 6191 drops a SYN whose timestamp merely equals TS.Recent, which happens
    // when a client reconnects within the same millisecond; Linux then accepts it on its
    // sequence number (tcp_timewait_state_process), and so do we. An older one is PAWS.
    return age > 0 || (age == 0 && r.rcv_nxt < syn.seq);
  }
  return r.rcv_nxt < syn.seq;
}

}  // namespace

TimeWaitTable::TimeWaitTable(const Config& cfg, Stats& stats, Observer& obs,
                             const FourTupleHash& hash)
    : cfg_{cfg}, stats_{stats}, obs_{obs}, index_{0, hash} {}

const TimeWaitRecord* TimeWaitTable::find(const FourTuple& id) const noexcept {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &slab_[it->second];
}

void TimeWaitTable::add(const TimeWaitRecord& r) {
  if (const auto it = index_.find(r.id); TAPSRV_BUG_IF(it != index_.end(), stats_)) {
    close(it->second, Cause::Recycled, nullptr);  // release builds: the newer one wins
  }
  if (cfg_.max_time_wait == 0) {
    // Linux with tcp_max_tw_buckets 0 closes at once (LINUX_MIB_TCPTIMEWAITOVERFLOW).
    stats_.add(Counter::TcpTimeWaitRecycled);
    obs_.on_transition(r.id, State::TimeWait, State::Closed, Cause::Recycled, nullptr);
    return;
  }
  if (index_.size() >= cfg_.max_time_wait) {
    // Linux refuses the new bucket and closes the socket instead (inet_twsk_alloc); we recycle
    // the oldest record, which has the least of its 2 MSL left: the one least likely to matter.
    stats_.add(Counter::TcpTimeWaitRecycled);
    close(head_, Cause::Recycled, nullptr);
  }
  std::uint32_t i = 0;
  if (free_.empty()) {
    i = static_cast<std::uint32_t>(slab_.size());
    slab_.push_back(r);
  } else {
    i = free_.back();
    free_.pop_back();
    slab_[i] = r;
  }
  index_.emplace(r.id, i);
  link_tail(i);
  peak_ = std::max(peak_, index_.size());
}

void TimeWaitTable::link_tail(std::uint32_t i) noexcept {
  TimeWaitRecord& r = slab_[i];
  r.prev = tail_;
  r.next = kNone;
  if (tail_ == kNone) {
    head_ = i;
  } else {
    slab_[tail_].next = i;
  }
  tail_ = i;
}

void TimeWaitTable::unlink(std::uint32_t i) noexcept {
  TimeWaitRecord& r = slab_[i];
  if (r.prev == kNone) {
    head_ = r.next;
  } else {
    slab_[r.prev].next = r.next;
  }
  if (r.next == kNone) {
    tail_ = r.prev;
  } else {
    slab_[r.next].prev = r.prev;
  }
}

void TimeWaitTable::close(std::uint32_t i, Cause cause, const TcpSegment* seg) {
  const FourTuple id = slab_[i].id;
  obs_.on_transition(id, State::TimeWait, State::Closed, cause, seg);
  unlink(i);
  index_.erase(id);
  free_.push_back(i);
  if (index_.empty()) {
    // Give the slab back once TIME_WAIT has drained, so a past burst holds no memory.
    slab_.clear();
    slab_.shrink_to_fit();
    free_.clear();
    free_.shrink_to_fit();
  }
}

std::optional<Instant> TimeWaitTable::next_deadline() const noexcept {
  if (head_ == kNone) { return std::nullopt; }
  return slab_[head_].expiry;
}

void TimeWaitTable::expire(Instant now) {
  while (head_ != kNone && slab_[head_].expiry <= now) {
    stats_.add(Counter::TcpTimeWaitExpired);
    close(head_, Cause::Timeout, nullptr);
  }
}

void TimeWaitTable::clear() {
  held_at_clear_ = index_.size();
  while (head_ != kNone) { close(head_, Cause::Shutdown, nullptr); }
}

void TimeWaitTable::send_ack(Instant now, const TimeWaitRecord& r, Outbox& out) {
  // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> with the window and timestamps of the connection's last
  // ACK, as Linux's tcp_v4_timewait_ack sends it from the bucket.
  TcpSegment s{.src_port = r.id.local_port,
               .dst_port = r.id.remote_port,
               .seq = r.snd_nxt,
               .flags = TcpFlags{TcpFlags::kAck}};
  s.ack = r.rcv_nxt;
  s.window = r.window;
  if (r.ts_enabled) {
    s.options.timestamps = wire::Timestamps{ts_clock(now, r.ts_offset), r.ts_recent};
  }
  if (obs_.wants_segments()) { obs_.on_segment(r.id, true, s); }
  stats_.add(Counter::TcpSegmentsOut);
  out.send(r.id, s);
}

bool TimeWaitTable::may_challenge(Instant now, TimeWaitRecord& r) noexcept {
  // RFC 5961 §7, per connection as the connection counts it (Linux tcp_invalid_ratelimit).
  if (r.challenged && now - r.last_challenge < cfg_.challenge_ack_interval) {
    stats_.add(Counter::TcpChallengeAcksLimited);
    return false;
  }
  r.challenged = true;
  r.last_challenge = now;
  return true;
}

bool TimeWaitTable::acceptable(const TimeWaitRecord& r, const TcpSegment& seg) {
  // RFC 9293 §3.10.7.4 first, the four cases of its table, against the last window we offered.
  const std::uint32_t len = seg.seq_len();
  const std::uint32_t wnd = r.receive_window();
  if (len == 0) {
    return wnd == 0 ? seg.seq == r.rcv_nxt : wire::in_window(seg.seq, r.rcv_nxt, wnd);
  }
  if (wnd == 0) { return seg.seq == r.rcv_nxt; }  // a zero window keeps the header (ACK, RST)
  return wire::in_window(seg.seq, r.rcv_nxt, wnd) ||
         wire::in_window(seg.seq + (len - 1), r.rcv_nxt, wnd);
}

TimeWaitTable::Verdict TimeWaitTable::on_segment(Instant now, const FourTuple& id,
                                                 const TcpSegment& seg, Outbox& out, SeqNum* iss) {
  stats_.add(Counter::TcpSegmentsIn);
  if (obs_.wants_segments()) { obs_.on_segment(id, false, seg); }
  const auto it = index_.find(id);
  if (TAPSRV_BUG_IF(it == index_.end(), stats_)) { return Verdict::Done; }  // engine checks first
  const std::uint32_t i = it->second;
  TimeWaitRecord& r = slab_[i];
  // The ACK owed for a segment we do not take: a duplicate with text needs it for the peer's
  // recovery; a bare one or a SYN may be a blind guess and shares the challenge-ACK limit
  // (RFC 5961 §4.2 and §7; Linux tcp_timewait_check_oow_rate_limit).
  const auto answer = [&] {
    if ((seg.seq_len() != 0 && !seg.flags.syn()) || may_challenge(now, r)) {
      send_ack(now, r, out);
    }
  };
  // RFC 6191: a SYN of a new incarnation ends TIME_WAIT and opens at the listener. Its ISS is
  // Linux's (TCP_TW_SYN: tw_snd_nxt + 65535 + 2), above every number the old incarnation used,
  // as RFC 1122 §4.2.2.13 (1) asks, however much it sent.
  if (seg.flags.syn() && !seg.flags.ack() && !seg.flags.rst() && is_new_incarnation(r, seg)) {
    *iss = r.snd_nxt + 65537U;
    if (iss->raw == 0) { iss->raw = 1; }
    close(i, Cause::Segment, &seg);
    return Verdict::Reopen;
  }
  const auto& ts = seg.options.timestamps;
  // RFC 7323 §5.3 R1: PAWS comes before the window test; an RST is exempt.
  if (r.ts_enabled && ts && !seg.flags.rst() &&
      static_cast<std::int32_t>(ts->value - r.ts_recent) < 0) {
    stats_.count(Drop::TcpPawsRejected);
    answer();
    return Verdict::Done;
  }
  if (!acceptable(r, seg)) {
    stats_.count(Drop::TcpOutOfWindow);
    if (seg.flags.rst()) { return Verdict::Done; }
    answer();
    // RFC 9293 §3.10.7.4 eighth, TIME_WAIT: a retransmitted FIN is acknowledged and "restart
    // the 2 MSL time-out" (Linux: inet_twsk_reschedule).
    if (seg.flags.fin()) {
      r.expiry = now + 2 * cfg_.msl;
      unlink(i);
      link_tail(i);  // the latest expiry of all: the list stays in expiry order
    }
    return Verdict::Done;
  }
  if (seg.flags.rst()) {
    // RFC 5961 §3.2: only an RST exactly at RCV.NXT counts; others earn a challenge ACK.
    if (seg.seq != r.rcv_nxt) {
      stats_.count(Drop::TcpRstChallenged);
      if (may_challenge(now, r)) { send_ack(now, r, out); }
      return Verdict::Done;
    }
    // RFC 9293 §3.10.7.4 second, TIME_WAIT: "If the RST bit is set, then enter the CLOSED
    // state". RFC 1337 suggests ignoring it instead; Linux does so only with tcp_rfc1337=1 and
    // by default closes (tcp_timewait_state_process, "TIME_WAIT assassination"). We close as
    // Linux does by default: an exact RCV.NXT (RFC 5961) leaves a blind attacker one guess in
    // 2^32, and RFC 1337's hazards come from old duplicates, which PAWS and a 2 MSL that
    // outlives them keep away.
    stats_.add(Counter::TcpResetsReceived);
    close(i, Cause::Segment, &seg);
    return Verdict::Done;
  }
  if (seg.flags.syn()) {
    // RFC 5961 §4.2: a SYN in the window that is not a new incarnation gets a challenge ACK.
    stats_.count(Drop::TcpSynChallenged);
    if (may_challenge(now, r)) { send_ack(now, r, out); }
    return Verdict::Done;
  }
  if (!seg.flags.ack()) {
    stats_.count(Drop::TcpNoAck);  // RFC 9293 fifth: "if the ACK bit is off, drop"
    return Verdict::Done;
  }
  // RFC 5961 §5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT], and SND.UNA = SND.NXT.
  if (r.snd_nxt < seg.ack || seg.ack < r.snd_nxt - std::max<std::uint32_t>(r.max_snd_wnd, 1)) {
    stats_.count(r.snd_nxt < seg.ack ? Drop::TcpAckTooNew : Drop::TcpAckTooOld);
    if (may_challenge(now, r)) { send_ack(now, r, out); }
    return Verdict::Done;
  }
  // RFC 7323 §4.3 (2): TS.Recent from an accepted segment that covers Last.ACK.sent (RCV.NXT).
  if (r.ts_enabled && ts && seg.seq <= r.rcv_nxt &&
      static_cast<std::int32_t>(ts->value - r.ts_recent) >= 0) {
    r.ts_recent = ts->value;
  }
  // RFC 9293 seventh and eighth: text and FIN after the peer's FIN are not taken, only
  // acknowledged (Linux answers every segment but a bare ACK or RST at RCV.NXT).
  if (!seg.payload.empty() || seg.flags.fin()) { send_ack(now, r, out); }
  return Verdict::Done;
}

}  // namespace tapsrv::tcp
