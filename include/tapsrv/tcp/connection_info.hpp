// A read-only snapshot of one connection's figures, as Linux's struct tcp_info (what `ss -tin`
// prints), and the walk over every connection that the control socket's `status` uses.
#pragma once

#include <cstdint>
#include <optional>

#include "tapsrv/core/time.hpp"
#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/state.hpp"

namespace tapsrv::tcp {

class Connection;

/// Plain values, filled by Connection::info(); nothing in it points into the engine.
struct ConnectionInfo {
  FourTuple id{};
  State state = State::Closed;
  std::uint64_t recv_q = 0;  // received, not yet read by the service (ss Recv-Q)
  std::uint64_t send_q = 0;  // written by the service, not yet acknowledged (ss Send-Q)
  std::uint16_t mss = 0;     // payload of a full segment we send
  /// RFC 7323 shifts, {the peer's (applied to windows it sends), ours}; nullopt when not
  /// negotiated (Linux tcpi_snd_wscale, tcpi_rcv_wscale).
  std::optional<std::pair<std::uint8_t, std::uint8_t>> wscale;
  bool sack = false;
  bool timestamps = false;
  bool ecn = false;
  std::uint32_t cwnd = 0;      // bytes
  std::uint32_t ssthresh = 0;  // bytes
  Duration srtt{};
  Duration rttvar{};
  Duration rto{};
  std::uint64_t retransmits = 0;     // segments sent again (Linux tcpi_total_retrans)
  std::uint64_t bytes_sent = 0;      // payload sent, retransmissions included (tcpi_bytes_sent)
  std::uint64_t bytes_acked = 0;     // payload the peer acknowledged (tcpi_bytes_acked)
  std::uint64_t bytes_received = 0;  // payload received in order (tcpi_bytes_received)
  Duration age{};                    // since the connection was created
  Duration in_state{};               // since it entered `state`
};

/// Links every connection of an engine in creation order. A ConnectionCursor is a node of the
/// same list, so a walk that runs over many event-loop wake-ups survives connections coming
/// and going: each connection that lives through the walk is visited exactly once, the ones
/// created meanwhile are visited too (they join at the end), removed ones are not. Linux's
/// dcache_readdir walks a directory's children with a cursor dentry in the list the same way.
class ListHook {
 public:
  explicit ListHook(const Connection* owner = nullptr) noexcept : owner_{owner} {}
  ~ListHook() { unlink(); }
  ListHook(const ListHook&) = delete;
  ListHook& operator=(const ListHook&) = delete;

  /// Inserts this (unlinked) node before `pos`.
  void link_before(ListHook& pos) noexcept {
    prev_ = pos.prev_;
    next_ = &pos;
    pos.prev_->next_ = this;
    pos.prev_ = this;
  }
  void unlink() noexcept {
    prev_->next_ = next_;
    next_->prev_ = prev_;
    prev_ = next_ = this;
  }

 private:
  friend class ConnectionCursor;
  ListHook* prev_ = this;
  ListHook* next_ = this;
  const Connection* owner_;  // null for the list's head and for cursors
};

/// A position in an engine's connection list. It must not outlive the engine (the Engine
/// hands them out); moving past a connection never changes the connection.
class ConnectionCursor {
 public:
  /// Starts before the first connection of the list headed by `head`.
  explicit ConnectionCursor(ListHook& head) noexcept : head_{head} {
    self_.link_before(*head.next_);
  }
  ConnectionCursor(const ConnectionCursor&) = delete;
  ConnectionCursor& operator=(const ConnectionCursor&) = delete;

  /// The next connection, moving the cursor past it; null once every connection was seen.
  /// The pointer is valid until the engine is next called.
  [[nodiscard]] const Connection* next() noexcept {
    ListHook* h = self_.next_;
    while (h != &head_ && h->owner_ == nullptr) { h = h->next_; }  // other cursors
    if (h == &head_) { return nullptr; }
    self_.unlink();
    self_.link_before(*h->next_);
    return h->owner_;
  }

 private:
  ListHook& head_;
  ListHook self_;
};

}  // namespace tapsrv::tcp
