#include "tapsrv/tcp/engine.hpp"

namespace tapsrv::tcp {

using wire::TcpFlags;
using wire::TcpSegment;

Engine::Engine(const Config& cfg, IsnSource& isn, Stats& stats, Observer& obs)
    : cfg_{cfg},
      isn_{isn},
      stats_{stats},
      obs_{obs},
      table_{0, FourTupleHash{cfg.connection_hash_key}},
      time_wait_{cfg, stats, obs, FourTupleHash{cfg.connection_hash_key}},
      reset_limit_{cfg.resets_per_second, cfg.reset_burst},
      cookies_{cfg.syn_cookie_key} {}

Engine::~Engine() = default;

void Engine::listen(Instant /*now*/, wire::Ipv4Addr local_ip, std::uint16_t port,
                    HandlerFactory& factory) {
  listeners_[port] = Listener{local_ip, &factory};
  obs_.on_transition(FourTuple{.local_ip = local_ip, .local_port = port}, State::Closed,
                     State::Listen, Cause::Listen, nullptr);
}

const Connection* Engine::find(const FourTuple& id) const noexcept {
  const auto it = table_.find(id);
  return it == table_.end() ? nullptr : it->second.get();
}

Connection* Engine::find_mutable(const FourTuple& id) noexcept {
  const auto it = table_.find(id);
  return it == table_.end() ? nullptr : it->second.get();
}

void Engine::on_segment(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, const TcpSegment& seg,
                        Outbox& out) {
  const FourTuple id{src, seg.src_port, dst, seg.dst_port};
  std::optional<wire::SeqNum> reopen_iss;
  if (const auto it = table_.find(id); it != table_.end()) {
    Connection& c = *it->second;
    const bool was_syn_received = c.state() == State::SynReceived;
    c.on_segment(now, seg, out);            // counts the segment
    settle(now, c, out, was_syn_received);  // erases c if it closed
    return;
  }
  if (time_wait_.contains(id)) {
    wire::SeqNum iss{};
    // Counts the segment; a SYN of a new incarnation goes on to the listener (RFC 6191).
    if (time_wait_.on_segment(now, id, seg, out, &iss) != TimeWaitTable::Verdict::Reopen) {
      return;
    }
    reopen_iss = iss;
  } else {
    stats_.add(Counter::TcpSegmentsIn);
    if (obs_.wants_segments()) { obs_.on_segment(id, false, seg); }
  }
  const auto l = listeners_.find(seg.dst_port);
  if (l == listeners_.end() || l->second.ip != dst) {
    // RFC 9293 §3.10.7.1, CLOSED: answer anything but an RST with an RST.
    if (seg.flags.rst()) { return stats_.count(Drop::TcpRstNoConnection); }
    stats_.count(Drop::TcpNoListener);
    return reply_reset(now, id, seg, out);
  }
  on_listen(now, id, seg, *l->second.factory, out, reopen_iss);
}

Connection* Engine::connect(Instant now, const FourTuple& id, HandlerFactory& factory,
                            Outbox& out) {
  // A 4-tuple in TIME_WAIT is in use too: its old duplicates may still be about (RFC 9293
  // §3.4.2), and the record would shadow a new connection's segments.
  if (table_.contains(id) || time_wait_.contains(id) || table_.size() >= cfg_.max_connections) {
    return nullptr;
  }
  Connection& c = add(id, factory);
  c.open_active(now, isn_.isn(id, now), out);
  settle(now, c, out, false);
  return find_mutable(id);  // settle() may have erased it
}

Connection& Engine::add(const FourTuple& id, HandlerFactory& factory) {
  auto owned = std::make_unique<Connection>(cfg_, id, stats_, obs_, memory_);
  Connection& c = *owned;
  table_.emplace(id, std::move(owned));
  c.all_hook.link_before(all_);  // at the end; ~Connection unlinks it
  c.set_factory(&factory);
  return c;
}

void Engine::on_listen(Instant now, const FourTuple& id, const TcpSegment& seg,
                       HandlerFactory& factory, Outbox& out, std::optional<wire::SeqNum> iss) {
  // RFC 9293 §3.10.7.2, in its order: RST, then ACK, then SYN.
  if (seg.flags.rst()) { return stats_.count(Drop::TcpRstNoConnection); }
  if (seg.flags.ack()) {
    // RFC 4987 §3.6: while we hand out cookies, an ACK may be the third step of a handshake we
    // kept no state for (Linux, cookie_v4_check); a SYN,ACK is no handshake's third step.
    if (!seg.flags.syn() && cookies_recently_sent(now)) {
      return on_cookie_ack(now, id, seg, factory, out);
    }
    stats_.count(Drop::TcpListenNoSyn);
    return reply_reset(now, id, seg, out);
  }
  if (!seg.flags.syn()) { return stats_.count(Drop::TcpListenNoSyn); }
  // A SYN that also carries FIN is a scanner's probe, not an opening (Linux drops it too).
  if (seg.flags.fin()) { return stats_.count(Drop::TcpBadSynFlags); }
  if (table_.size() >= cfg_.max_connections) {
    // Refused at once, so the client sees ECONNREFUSED instead of retrying for a minute.
    stats_.count(Drop::TcpTooManyConns);
    return reply_reset(now, id, seg, out);
  }
  if (syn_received_ >= cfg_.syn_backlog) {
    // Half-open connections beyond the backlog cost no memory: a cookie, or nothing at all.
    if (cfg_.syn_cookies) { return send_cookie(now, id, seg, out); }
    return stats_.count(Drop::TcpBacklogFull);
  }
  Connection& c = add(id, factory);
  stats_.add(Counter::TcpConnectionsAccepted);
  c.open_passive(now, seg, iss ? *iss : isn_.isn(id, now), out);
  settle(now, c, out, false);  // counts it half-open
}

void Engine::reply_reset(Instant now, const FourTuple& id, const TcpSegment& seg, Outbox& out) {
  if (!reset_limit_.try_take(now)) { return stats_.add(Counter::TcpResetsRateLimited); }
  // <SEQ=SEG.ACK><CTL=RST> if the segment had an ACK, else
  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
  TcpSegment rst{.src_port = seg.dst_port, .dst_port = seg.src_port};
  if (seg.flags.ack()) {
    rst.seq = seg.ack;
    rst.flags = TcpFlags{TcpFlags::kRst};
  } else {
    rst.ack = seg.seq + seg.seq_len();
    rst.flags = TcpFlags{TcpFlags::kRst | TcpFlags::kAck};
  }
  if (obs_.wants_segments()) { obs_.on_segment(id, true, rst); }
  stats_.add(Counter::TcpSegmentsOut);
  stats_.add(Counter::TcpResetsSent);
  out.send(id, rst);
}

void Engine::settle(Instant now, Connection& c, Outbox& out, bool was_syn_received) {
  // Our own inconsistency in this one connection (TAPSRV_BUG_IF, release policy): reset it and
  // keep serving the others, as the README promises.
  if (c.is_broken()) { c.abort(now, out, Cause::InternalBug); }
  const auto events = c.take_events();
  if ((events & Connection::kEstablished) != 0 && c.factory() != nullptr) {
    c.set_handler(c.factory()->make(c.id()));
    if (c.handler() != nullptr) { c.handler()->on_established(c); }
  }
  if (auto* h = c.handler(); h != nullptr) {
    if ((events & Connection::kReadable) != 0) { h->on_readable(c); }
    if ((events & Connection::kWritable) != 0) { h->on_writable(c); }
  }
  if (c.is_broken()) { c.abort(now, out, Cause::InternalBug); }  // ...or one its service found
  c.output(now, out);
  // The half-open count follows the state whatever the path into SYN_RECEIVED: a listener's
  // SYN, or our own SYN_SENT on a simultaneous open (RFC 9293 §3.10.7.3, Figure 8), which used
  // to leave without having been counted and so wrapped the count around.
  if (const bool is_syn_received = c.state() == State::SynReceived;
      is_syn_received != was_syn_received) {
    if (is_syn_received) {
      ++syn_received_;
    } else {
      --syn_received_;
    }
  }
  // A connection in TIME_WAIT has nothing left to send or receive: it becomes a small record
  // (Linux tcp_time_wait) and the connection, its handler and its buffers go, so that TIME_WAIT
  // does not count against max_connections.
  const bool time_wait = c.state() == State::TimeWait;
  if (time_wait || c.state() == State::Closed || c.state() == State::Listen) {
    if (auto* h = c.handler(); h != nullptr) { h->on_closed(c); }
    unindex(c);
    unlist(c);
    if (time_wait) { time_wait_.add(c.time_wait_record()); }
    const FourTuple id = c.id();
    table_.erase(id);  // destroys c
    return;
  }
  reindex(c);
  note_buffers(now, c);
}

void Engine::note_buffers(Instant now, Connection& c) {
  c.active_since_sweep = true;
  if (c.sweep_slot != Connection::kNotInSweep || !c.holds_buffers()) { return; }
  c.sweep_slot = static_cast<std::uint32_t>(holding_buffers_.size());
  holding_buffers_.push_back(&c);
  if (!next_sweep_) { next_sweep_ = now + cfg_.idle_buffer_sweep; }
}

void Engine::unlist(Connection& c) noexcept {
  if (c.sweep_slot == Connection::kNotInSweep) { return; }
  Connection* last = holding_buffers_.back();
  holding_buffers_[c.sweep_slot] = last;
  last->sweep_slot = c.sweep_slot;
  holding_buffers_.pop_back();
  c.sweep_slot = Connection::kNotInSweep;
  if (holding_buffers_.empty()) { next_sweep_.reset(); }
}

void Engine::sweep_idle_buffers(Instant now) {
  if (!next_sweep_ || now < *next_sweep_) { return; }
  for (std::size_t i = 0; i < holding_buffers_.size();) {
    Connection& c = *holding_buffers_[i];
    if (!std::exchange(c.active_since_sweep, false) && c.release_idle_buffers()) {
      unlist(c);  // swaps the last one into slot i
      continue;
    }
    ++i;
  }
  next_sweep_ = holding_buffers_.empty() ? std::nullopt
                                         : std::optional<Instant>{now + cfg_.idle_buffer_sweep};
}

void Engine::unindex(Connection& c) { timers_.cancel(c.timer); }

void Engine::reindex(Connection& c) {
  const auto deadline = c.next_deadline();
  if (!deadline) { return timers_.cancel(c.timer); }
  if (!c.timer.armed() || c.timer.deadline != *deadline) { timers_.schedule(c.timer, *deadline); }
}

std::optional<Instant> Engine::next_deadline() const noexcept {
  std::optional<Instant> earliest = next_sweep_;
  for (const auto t : {timers_.next_deadline(), time_wait_.next_deadline()}) {
    if (t && (!earliest || *t < *earliest)) { earliest = t; }
  }
  return earliest;
}

void Engine::on_timers(Instant now, Outbox& out) {
  // Collect first: each due connection runs once per call even if it re-arms at `now`.
  due_.clear();
  timers_.expire(now, due_);
  for (TimerNode* n : due_) {
    Connection* c = n->owner;
    const bool was_syn_received = c->state() == State::SynReceived;
    c->on_timers(now, out);
    settle(now, *c, out, was_syn_received);
  }
  time_wait_.expire(now);
  sweep_idle_buffers(now);
}

void Engine::abort_all(Instant now, Outbox& out) {
  for (auto& [id, c] : table_) {
    c->abort(now, out, Cause::Shutdown);
    if (auto* h = c->handler(); h != nullptr) { h->on_closed(*c); }
  }
  holding_buffers_.clear();
  next_sweep_.reset();
  timers_.clear();
  table_.clear();
  time_wait_.clear();
  syn_received_ = 0;
}

}  // namespace tapsrv::tcp
