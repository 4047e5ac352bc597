#include "tapsrv/ip/ipv4_layer.hpp"

namespace tapsrv::ip {

using wire::Ipv4Addr;

Ipv4Layer::Ipv4Layer(const Ipv4Config& cfg, link::LinkLayer& link, Stats& stats)
    : cfg_{cfg},
      link_{link},
      stats_{stats},
      icmp_errors_{cfg.icmp_errors_per_second, cfg.icmp_error_burst} {}

std::optional<wire::Ipv4View> Ipv4Layer::accept(wire::Bytes packet) noexcept {
  const auto ip = wire::Ipv4View::parse(packet);
  if (!ip) {
    stats_.count(ip.error());
    return std::nullopt;
  }
  if (is_bad_source(ip->src())) {
    stats_.count(Drop::Ipv4BadSource);
    return std::nullopt;
  }
  // A host, not a router: only our own unicast address is ours. Broadcast and multicast
  // datagrams have no listener here (Linux, too, ignores broadcast echo by default).
  if (ip->dst() != cfg_.address.addr) {
    stats_.count(Drop::Ipv4NotForUs);
    return std::nullopt;
  }
  // Deviation: RFC 1122 §3.3.2 asks hosts to reassemble; we drop fragments and count them
  // (the README says so). Our MTU-sized peers never need to fragment what they send us.
  if (ip->is_fragment()) {
    stats_.count(Drop::Ipv4Fragment);
    return std::nullopt;
  }
  return *ip;
}

bool Ipv4Layer::is_bad_source(Ipv4Addr src) const noexcept {
  // RFC 1122 §3.2.1.3: a host silently discards datagrams from addresses that cannot be a
  // single host's; our own address arriving from the wire is a loop or a spoof.
  return src.is_unspecified() || src.is_limited_broadcast() || src.is_multicast() ||
         src.is_loopback() || src == cfg_.address.addr ||
         (cfg_.address.contains(src) && cfg_.address.is_directed_broadcast(src));
}

std::optional<Ipv4Addr> Ipv4Layer::next_hop(Ipv4Addr dst) const noexcept {
  if (cfg_.address.contains(dst)) { return dst; }
  return cfg_.gateway;
}

}  // namespace tapsrv::ip
