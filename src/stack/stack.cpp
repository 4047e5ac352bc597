#include "tapsrv/stack/stack.hpp"

#include "tapsrv/wire/ethernet.hpp"
#include "tapsrv/wire/icmpv4.hpp"

namespace tapsrv {

Stack::Stack(const StackConfig& cfg, Stats& stats, link::LinkObserver& obs)
    : stats_{stats},
      link_{link::LinkConfig{.mac = cfg.mac, .ip = cfg.address.addr, .neighbors = cfg.neighbors},
            tx_, stats, obs},
      ipv4_{ip::Ipv4Config{.address = cfg.address, .gateway = cfg.gateway, .mtu = cfg.mtu}, link_,
            stats} {}

void Stack::start(Instant /*now*/) { link_.announce(); }

void Stack::on_frame(Instant now, wire::Bytes frame) noexcept {
  stats_.add(Counter::RxFrames);
  stats_.add(Counter::RxBytes, frame.size());
  const auto eth = wire::EthernetView::parse(frame);
  if (!eth) { return stats_.count(eth.error()); }
  const auto dst = eth->dst();
  // We join no multicast group, so of the group addresses only broadcast is ours.
  if (dst != link_.mac() && !dst.is_broadcast()) { return stats_.count(Drop::EthNotForUs); }
  switch (eth->ethertype()) {
    case wire::ethertype::kArp: return link_.on_arp(now, eth->payload());
    case wire::ethertype::kIpv4: return on_ipv4(now, eth->payload(), dst.is_broadcast());
    default: return stats_.count(Drop::EthUnsupportedType);
  }
}

void Stack::on_ipv4(Instant now, wire::Bytes packet, bool link_broadcast) {
  const auto ip = ipv4_.accept(packet);
  if (!ip) { return; }
  switch (ip->protocol()) {
    case wire::ip_proto::kIcmp: return ipv4_.on_icmp(now, *ip);
    case wire::ip_proto::kTcp:
      // TODO(#3): the TCP engine. Until then no port listens.
      return stats_.count(Drop::TcpNoListener);
    case wire::ip_proto::kUdp:
      // No UDP service exists, so every port is closed: RFC 1122 §4.1.3.1 port unreachable.
      stats_.count(Drop::UdpNoListener);
      return ipv4_.send_unreachable(now, *ip, wire::unreachable_code::kPort, link_broadcast);
    default:
      stats_.count(Drop::Ipv4UnknownProtocol);
      return ipv4_.send_unreachable(now, *ip, wire::unreachable_code::kProtocol, link_broadcast);
  }
}

std::optional<Instant> Stack::next_deadline() const noexcept { return link_.next_deadline(); }

void Stack::on_timers(Instant now) noexcept { link_.on_timers(now); }

}  // namespace tapsrv
