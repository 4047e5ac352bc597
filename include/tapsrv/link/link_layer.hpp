// Ethernet output and ARP (RFC 826): answers requests for our address, resolves next hops on
// demand while their frames wait in a bounded queue, and announces us when the link comes up.
#pragma once

#include <optional>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/link/link_observer.hpp"
#include "tapsrv/link/neighbor_table.hpp"
#include "tapsrv/link/tx_queue.hpp"
#include "tapsrv/wire/addresses.hpp"

namespace tapsrv::link {

struct LinkConfig {
  wire::MacAddr mac{};
  wire::Ipv4Addr ip{};
  NeighborConfig neighbors{};
  /// Our subnet: only senders on it (and the gateway) are neighbours worth a cache entry.
  wire::Ipv4Subnet subnet{};
  std::optional<wire::Ipv4Addr> gateway{};
};

class LinkLayer {
 public:
  /// `tx`, `stats` and `obs` must outlive the layer.
  LinkLayer(const LinkConfig& cfg, TxQueue& tx, Stats& stats, LinkObserver& obs);

  /// Gratuitous ARP request for our own address (RFC 5227 §2.3 announcement), so that
  /// neighbours and bridges learn where we are.
  void announce();
  /// An ARP packet from the wire (the Ethernet payload).
  void on_arp(Instant now, wire::Bytes payload);

  /// An IPv4 packet from `ip` arrived in a frame from `mac`: keeps a matching cache entry
  /// fresh, as Linux's upper-layer confirmations do, so a busy peer is not re-resolved (and
  /// its frames parked) every reachable_time. Never creates or changes an entry.
  void confirm(Instant now, wire::Ipv4Addr ip, wire::MacAddr mac) {
    neighbors_.confirm(ip, mac, now);
  }
  /// Appends a frame with room for an IPv4 packet of `ip_len` bytes and returns that room.
  /// `offload` offsets count from the start of the IPv4 header. Follow with finish_ipv4().
  [[nodiscard]] wire::MutBytes begin_ipv4(std::size_t ip_len, TxOffload offload = {});
  /// Addresses the frame begun last to `next_hop`: sent now if its MAC is known, else parked
  /// until ARP resolves it.
  void finish_ipv4(Instant now, wire::Ipv4Addr next_hop);

  [[nodiscard]] std::optional<Instant> next_deadline() const noexcept {
    return neighbors_.next_deadline();
  }
  void on_timers(Instant now);

  [[nodiscard]] wire::MacAddr mac() const noexcept { return cfg_.mac; }
  [[nodiscard]] const NeighborTable& neighbors() const noexcept { return neighbors_; }

 private:
  void learn(Instant now, wire::Ipv4Addr ip, wire::MacAddr mac);
  /// A next hop we could ever send to: on our subnet (not its broadcast) or the gateway.
  [[nodiscard]] bool is_possible_neighbor(wire::Ipv4Addr ip) const noexcept;
  /// Broadcasts "who has `ip`?".
  void request(wire::Ipv4Addr ip);
  void send_arp(std::uint16_t op, wire::MacAddr eth_dst, wire::MacAddr target_mac,
                wire::Ipv4Addr target_ip);

  LinkConfig cfg_;
  TxQueue& tx_;
  Stats& stats_;
  LinkObserver& obs_;
  NeighborTable neighbors_;
};

}  // namespace tapsrv::link
