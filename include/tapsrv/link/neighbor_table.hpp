// The ARP cache with expiry, and the bounded queue of frames waiting for a resolution (RFC 826,
// RFC 1122 §2.3.2.2: keep at least one packet per unresolved destination, bounded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

#include "tapsrv/core/offload.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/wire/addresses.hpp"

namespace tapsrv::link {

struct NeighborConfig {
  Duration reachable_time = std::chrono::seconds{60};  // cache entry lifetime after learning
  Duration retry_interval = std::chrono::seconds{1};   // between ARP requests for one address
  unsigned max_requests = 3;                           // then the resolution fails
  std::size_t max_entries = 1024;
  std::size_t max_pending_dests = 64;
  std::size_t max_frames_per_dest = 16;
};

/// Pure state: no frames are built here. Time is an input to every call.
class NeighborTable {
 public:
  explicit NeighborTable(const NeighborConfig& cfg) : cfg_{cfg} {}
  // Entries hold iterators into by_age_: a copy would point into the original.
  NeighborTable(const NeighborTable&) = delete;
  NeighborTable& operator=(const NeighborTable&) = delete;

  /// The MAC of `ip` if an unexpired entry exists; an expired one is removed.
  [[nodiscard]] std::optional<wire::MacAddr> lookup(wire::Ipv4Addr ip, Instant now);
  [[nodiscard]] bool contains(wire::Ipv4Addr ip, Instant now) {
    return lookup(ip, now).has_value();
  }

  enum class Learned : std::uint8_t { New, Changed, Refreshed };
  /// Inserts or refreshes an entry; when full, evicts the entry closest to expiry, in O(1).
  Learned learn(wire::Ipv4Addr ip, wire::MacAddr mac, Instant now);

  /// Extends an unexpired entry for `ip` whose MAC is `mac` (traffic from it proves it is
  /// still there); anything else is left alone. Returns whether it did.
  bool confirm(wire::Ipv4Addr ip, wire::MacAddr mac, Instant now);

  /// A frame waiting for its destination's MAC, with what it asks of the device.
  struct ParkedFrame {
    std::vector<std::byte> bytes;
    TxOffload offload;
  };
  enum class Parked : std::uint8_t { StartResolution, Queued, QueueFull };
  /// Keeps a copy of `frame` until `ip` resolves or fails. StartResolution means the caller
  /// must send the first ARP request now; QueueFull means the frame was not kept.
  Parked park(wire::Ipv4Addr ip, wire::Bytes frame, Instant now, TxOffload offload = {});

  /// Removes and returns the frames parked for `ip` (empty when none).
  [[nodiscard]] std::vector<ParkedFrame> take_parked(wire::Ipv4Addr ip);

  /// For each due resolution: calls retry(ip) when another request is due, or
  /// fail(ip, dropped_frames) after the last one went unanswered.
  template <class Retry, class Fail>
  void on_timers(Instant now, Retry&& retry, Fail&& fail);

  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept;
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] std::size_t pending_count() const noexcept { return pending_.size(); }

 private:
  struct Entry {
    wire::MacAddr mac;
    Instant expires;
    std::list<std::uint32_t>::iterator age;  // its place in by_age_
  };
  struct Pending {
    wire::Ipv4Addr ip;
    unsigned requests_sent = 1;
    Instant next_retry;
    std::vector<ParkedFrame> frames;
  };
  void evict_one();
  /// Moves `e` to the young end of by_age_ with a new expiry.
  void refresh(Entry& e, Instant expires);

  NeighborConfig cfg_;
  std::unordered_map<std::uint32_t, Entry> entries_;
  // Every entry's address, oldest expiry first: each learn or confirm sets expiry to now +
  // reachable_time with `now` never going back, so moving it to the back keeps the order and
  // the front is always the entry closest to expiry (an LRU list, as Linux's neigh_forced_gc
  // walks gc_list oldest first).
  std::list<std::uint32_t> by_age_;
  std::vector<Pending> pending_;  // a few dozen at most: a linear scan beats a map
};

template <class Retry, class Fail>
void NeighborTable::on_timers(Instant now, Retry&& retry, Fail&& fail) {
  for (std::size_t i = 0; i < pending_.size();) {
    auto& p = pending_[i];
    if (now < p.next_retry) {
      ++i;
      continue;
    }
    if (p.requests_sent >= cfg_.max_requests) {
      const auto ip = p.ip;
      const auto dropped = p.frames.size();
      pending_.erase(pending_.begin() + static_cast<std::ptrdiff_t>(i));
      fail(ip, dropped);
      continue;
    }
    ++p.requests_sent;
    p.next_retry = now + cfg_.retry_interval;
    retry(p.ip);
    ++i;
  }
}

}  // namespace tapsrv::link
