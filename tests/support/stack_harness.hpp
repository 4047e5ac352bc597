// A Stack on a fake clock with a recording observer: frames in, frames out, no fds.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "support/frames.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/link/link_observer.hpp"
#include "tapsrv/stack/stack.hpp"
#include "tapsrv/tcp/isn.hpp"
#include "tapsrv/wire/ethernet.hpp"
#include "tapsrv/wire/icmpv4.hpp"
#include "tapsrv/wire/ipv4.hpp"

namespace tapsrv::test {

class RecordingLinkObserver final : public link::LinkObserver {
 public:
  struct Learned {
    wire::Ipv4Addr ip;
    wire::MacAddr mac;
    bool changed;
  };
  void on_neighbor_learned(wire::Ipv4Addr ip, wire::MacAddr mac, bool changed) override {
    learned.push_back({ip, mac, changed});
  }
  void on_neighbor_unreachable(wire::Ipv4Addr ip, std::size_t dropped) override {
    unreachable.emplace_back(ip, dropped);
  }
  void on_address_conflict(wire::Ipv4Addr ip, wire::MacAddr m) override {
    conflicts.emplace_back(ip, m);
  }

  std::vector<Learned> learned;
  std::vector<std::pair<wire::Ipv4Addr, std::size_t>> unreachable;
  std::vector<std::pair<wire::Ipv4Addr, wire::MacAddr>> conflicts;
};

/// rx_frames = sum(drops) + rx_delivered, with the figures in the message when it fails.
inline void check_frame_accounting(const Stats& s) {
  CHECK_MESSAGE(s.frames_add_up(), "rx_frames=", s.get(Counter::RxFrames),
                " drops=", s.total_drops(), " rx_delivered=", s.get(Counter::RxDelivered));
}

/// 10.0.0.2/24 at 02:00:0a:00:00:02, no gateway, MTU 1500, default neighbour settings.
inline StackConfig default_stack_config() {
  return StackConfig{
      .mac = kOurMac, .address = kOurSubnet, .gateway = {}, .mtu = 1500, .neighbors = {}};
}

struct StackHarness {
  explicit StackHarness(const StackConfig& cfg = default_stack_config())
      : stack{cfg, stats, isn, obs} {}
  StackHarness(const StackHarness&) = delete;
  StackHarness& operator=(const StackHarness&) = delete;
  // Every test that drives frames through a stack also checks that they add up.
  ~StackHarness() { check_frame_accounting(stats); }

  void receive(wire::Bytes frame) { stack.on_frame(now, frame); }
  /// Moves the fake clock and runs the timers, as the run loop does after every wake-up.
  void advance(Duration d) {
    now += d;
    stack.on_timers(now);
  }
  /// Copies out and clears the transmit queue, oldest frame first.
  std::vector<Buffer> drain() {
    std::vector<Buffer> out;
    auto& tx = stack.tx();
    for (std::size_t i = 0; i < tx.size(); ++i) {
      out.emplace_back(tx[i].begin(), tx[i].end());
      stack.count_tx(i, true);
    }
    tx.clear();
    return out;
  }
  /// Teaches the stack the peer's MAC with an ARP request for us, and discards our reply.
  void learn(wire::Ipv4Addr peer_ip, wire::MacAddr peer_mac) {
    receive(arp_request(peer_mac, peer_ip, kOurIp));
    stack.tx().clear();
  }

  Stats stats;
  RecordingLinkObserver obs;
  tcp::FixedIsn isn{10000};
  Stack stack;
  Instant now{};
};

/// The layers of an IPv4 frame we sent; borrows the frame. decode() REQUIREs each to be valid,
/// so every frame a test looks at also has a correct IPv4 header checksum.
struct Ipv4Out {
  wire::EthernetView eth;
  wire::Ipv4View ip;
};
inline Ipv4Out decode_ipv4(const Buffer& frame) {
  const auto eth = wire::EthernetView::parse(frame);
  REQUIRE(eth.has_value());
  REQUIRE(eth->ethertype() == wire::ethertype::kIpv4);
  const auto ip = wire::Ipv4View::parse(eth->payload());
  REQUIRE(ip.has_value());
  return Ipv4Out{*eth, *ip};
}
/// The ICMP message of an IPv4 frame we sent; REQUIREs a valid ICMP checksum.
inline wire::IcmpView decode_icmp(const Ipv4Out& out) {
  REQUIRE(out.ip.protocol() == wire::ip_proto::kIcmp);
  const auto icmp = wire::IcmpView::parse(out.ip.payload());
  REQUIRE(icmp.has_value());
  return *icmp;
}
inline Buffer to_buffer(wire::Bytes b) { return Buffer(b.begin(), b.end()); }

}  // namespace tapsrv::test
