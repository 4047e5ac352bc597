// The TCP engine: listeners, the connection table, CLOSED and LISTEN processing
// (RFC 9293 §3.10.7.1-2), and the timers of all connections.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/core/token_bucket.hpp"
#include "tapsrv/tcp/buffer_budget.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/connection.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/handler.hpp"
#include "tapsrv/tcp/isn.hpp"
#include "tapsrv/tcp/outbox.hpp"
#include "tapsrv/tcp/syn_cookie.hpp"
#include "tapsrv/tcp/time_wait.hpp"
#include "tapsrv/tcp/timer_wheel.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// Pure TCP: the same inputs give the same outputs. No syscalls, no clock, no logging.
class Engine {
 public:
  /// Every reference must outlive the engine.
  Engine(const Config& cfg, IsnSource& isn, Stats& stats, Observer& obs = Observer::none());
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Opens `port` on `local_ip` (CLOSED -> LISTEN); `factory` must outlive the engine.
  void listen(Instant now, wire::Ipv4Addr local_ip, std::uint16_t port, HandlerFactory& factory);
  /// Active open from `id.local_*` to `id.remote_*`. Returns null (and sends nothing) when the
  /// 4-tuple is in use or the table is full. `factory` must outlive the connection.
  Connection* connect(Instant now, const FourTuple& id, HandlerFactory& factory, Outbox& out);
  /// One checksum-verified segment from `src` to `dst`. Replies go to `out`.
  void on_segment(Instant now, wire::Ipv4Addr src, wire::Ipv4Addr dst, const wire::TcpSegment& seg,
                  Outbox& out);
  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  void on_timers(Instant now, Outbox& out);
  /// Resets every connection (SIGTERM): nobody is left hanging.
  void abort_all(Instant now, Outbox& out);

  /// Connections in every state but TIME_WAIT, which is kept as records (time_wait_count()).
  [[nodiscard]] std::size_t connection_count() const noexcept { return table_.size(); }
  /// Connections in SYN_RECEIVED: what the SYN backlog (Config::syn_backlog) limits.
  [[nodiscard]] std::size_t half_open_count() const noexcept { return syn_received_; }
  [[nodiscard]] const TimeWaitTable& time_wait() const noexcept { return time_wait_; }
  [[nodiscard]] std::size_t time_wait_count() const noexcept { return time_wait_.size(); }
  /// Null when `id` is not in TIME_WAIT; valid until the next call into the engine.
  [[nodiscard]] const TimeWaitRecord* time_wait_record(const FourTuple& id) const noexcept {
    return time_wait_.find(id);
  }
  [[nodiscard]] const Config& config() const noexcept { return cfg_; }
  /// Buffer storage held by all connections, against Config::memory_limit.
  [[nodiscard]] const BufferBudget& buffer_memory() const noexcept { return memory_; }
  /// Null when there is no such connection (also in TIME_WAIT).
  [[nodiscard]] const Connection* find(const FourTuple& id) const noexcept;
  /// A walk over every connection in creation order that stays valid while connections come
  /// and go between steps (see ConnectionCursor); it must not outlive the engine.
  [[nodiscard]] std::unique_ptr<ConnectionCursor> walk() const {
    return std::make_unique<ConnectionCursor>(all_);
  }

 private:
  /// `iss`: the ISS to use instead of IsnSource's (a SYN that reopened TIME_WAIT).
  void on_listen(Instant now, const FourTuple& id, const wire::TcpSegment& seg,
                 HandlerFactory& factory, Outbox& out, std::optional<wire::SeqNum> iss = {});
  void reply_reset(Instant now, const FourTuple& id, const wire::TcpSegment& seg, Outbox& out);
  // engine_cookies.cpp: SYN cookies (RFC 4987 §3.6) once the backlog is full.
  void send_cookie(Instant now, const FourTuple& id, const wire::TcpSegment& syn, Outbox& out);
  [[nodiscard]] bool cookies_recently_sent(Instant now) const noexcept;
  void on_cookie_ack(Instant now, const FourTuple& id, const wire::TcpSegment& seg,
                     HandlerFactory& factory, Outbox& out);
  /// After anything happened to `c`: run its handler's callbacks, send, keep the half-open
  /// count (`was_syn_received`: its state before), and re-index or erase it.
  void settle(Instant now, Connection& c, Outbox& out, bool was_syn_received);
  void unindex(Connection& c);
  Connection* find_mutable(const FourTuple& id) noexcept;
  /// A new connection in the table, making its handler with `factory` once established.
  Connection& add(const FourTuple& id, HandlerFactory& factory);
  void reindex(Connection& c);
  /// Idle-buffer sweep: connections that hold buffer storage are listed; every sweep interval,
  /// those that moved no data since the last sweep give their empty buffers back.
  void note_buffers(Instant now, Connection& c);
  void unlist(Connection& c) noexcept;
  void sweep_idle_buffers(Instant now);

  struct Listener {
    wire::Ipv4Addr ip;
    HandlerFactory* factory;
  };

  const Config& cfg_;
  IsnSource& isn_;
  Stats& stats_;
  Observer& obs_;
  BufferBudget memory_{cfg_.memory_limit};
  std::unordered_map<std::uint16_t, Listener> listeners_;
  // Every connection in creation order, and the cursors of walks in progress; mutable because
  // a walk moves only its own cursor node. Declared before table_, which must go first.
  mutable ListHook all_;
  std::unordered_map<FourTuple, std::unique_ptr<Connection>, FourTupleHash> table_;
  TimeWaitTable time_wait_;
  TimerWheel timers_;  // each connection at most once, at its next deadline
  std::size_t syn_received_ = 0;
  TokenBucket reset_limit_;
  SynCookies cookies_;
  std::optional<Instant> last_cookie_sent_;
  std::vector<TimerNode*> due_;  // reused by on_timers()
  std::vector<Connection*> holding_buffers_;
  std::optional<Instant> next_sweep_;
};

}  // namespace tapsrv::tcp
