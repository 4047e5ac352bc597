#include "tapsrv/stack/stack.hpp"

#include <algorithm>

#include "tapsrv/core/bug.hpp"
#include "tapsrv/wire/ethernet.hpp"
#include "tapsrv/wire/icmpv4.hpp"
#include "tapsrv/wire/ipv4.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv {

namespace {
StackConfig normalized(StackConfig cfg) {
  cfg.tcp.mtu = cfg.mtu;
  // The largest payload whose IPv4 total length still fits 16 bits with a full TCP header.
  constexpr std::uint32_t kMaxTsoPayload =
      wire::kIpv4MaxPacketLen - wire::kIpv4MinHeaderLen - wire::kTcpMaxHeaderLen;
  cfg.tcp.tso_max_payload = cfg.offload ? kMaxTsoPayload : 0;
  return cfg;
}
}  // namespace

Stack::Stack(const StackConfig& cfg, Stats& stats, tcp::IsnSource& isn,
             link::LinkObserver& link_obs, tcp::Observer& tcp_obs)
    : stats_{stats},
      cfg_{normalized(cfg)},
      link_{link::LinkConfig{.mac = cfg.mac,
                             .ip = cfg.address.addr,
                             .neighbors = cfg.neighbors,
                             .subnet = cfg.address,
                             .gateway = cfg.gateway},
            tx_, stats, link_obs},
      ipv4_{ip::Ipv4Config{.address = cfg.address, .gateway = cfg.gateway, .mtu = cfg.mtu}, link_,
            stats},
      tcp_{cfg_.tcp, isn, stats, tcp_obs} {}

void Stack::start(Instant now) {
  now_ = now;
  link_.announce();
}

void Stack::listen(Instant now, std::uint16_t port, tcp::HandlerFactory& factory) {
  tcp_.listen(now, cfg_.address.addr, port, factory);
}

void Stack::on_frame(Instant now, wire::Bytes frame, RxOffload rx) noexcept {
  now_ = now;
  stats_.add(Counter::RxFrames);
  stats_.add(Counter::RxBytes, frame.size());
  // Each frame is either refused for one reason or delivered, never both and never twice, so
  // that rx_frames = sum(drops) + rx_delivered holds whatever the layers do (Linux's rx_dropped
  // beside rx_packets). A layer that counted two reasons for one frame is our bug.
  const std::uint64_t dropped_before = stats_.total_drops();
  dispatch(now, frame, rx);
  const std::uint64_t reasons = stats_.total_drops() - dropped_before;
  if (reasons == 0) { return stats_.add(Counter::RxDelivered); }
  TAPSRV_BUG_IF(reasons > 1, stats_);
}

void Stack::dispatch(Instant now, wire::Bytes frame, RxOffload rx) {
  const auto eth = wire::EthernetView::parse(frame);
  if (!eth) { return stats_.count(eth.error()); }
  const auto dst = eth->dst();
  // We join no multicast group, so of the group addresses only broadcast is ours.
  if (dst != link_.mac() && !dst.is_broadcast()) { return stats_.count(Drop::EthNotForUs); }
  switch (eth->ethertype()) {
    case wire::ethertype::kArp: return link_.on_arp(now, eth->payload());
    case wire::ethertype::kIpv4: return on_ipv4(now, *eth, dst.is_broadcast(), rx);
    default: return stats_.count(Drop::EthUnsupportedType);
  }
}

void Stack::on_ipv4(Instant now, const wire::EthernetView& eth, bool link_broadcast, RxOffload rx) {
  const auto ip = ipv4_.accept(eth.payload());
  if (!ip) { return; }
  // The frame came from the next hop we would use to answer: the sender itself when it is on
  // our subnet, else the gateway.
  if (const auto hop = ipv4_.next_hop(ip->src())) { link_.confirm(now, *hop, eth.src()); }
  switch (ip->protocol()) {
    case wire::ip_proto::kIcmp: return ipv4_.on_icmp(now, *ip);
    case wire::ip_proto::kTcp: return on_tcp(now, *ip, rx);
    case wire::ip_proto::kUdp:
      // No UDP service exists, so every port is closed: RFC 1122 §4.1.3.1 port unreachable.
      stats_.count(Drop::UdpNoListener);
      return ipv4_.send_unreachable(now, *ip, wire::unreachable_code::kPort, link_broadcast);
    default:
      stats_.count(Drop::Ipv4UnknownProtocol);
      return ipv4_.send_unreachable(now, *ip, wire::unreachable_code::kProtocol, link_broadcast);
  }
}

void Stack::on_tcp(Instant now, const wire::Ipv4View& ip, RxOffload rx) {
  const auto view = wire::TcpView::parse(ip.payload());
  if (!view) { return stats_.count(view.error()); }
  if (!rx.checksum_trusted && !wire::verify_tcp_checksum(ip.payload(), ip.src(), ip.dst())) {
    return stats_.count(Drop::TcpBadChecksum);
  }
  if (wire::kIpv4MinHeaderLen + ip.payload().size() > cfg_.mtu) {
    stats_.add(Counter::RxOffloadedSegments);
  }
  const auto decoded = wire::decode(*view);
  if (!decoded) { return stats_.count(decoded.error()); }
  // TCP's ECN logic (RFC 3168 §6.1.3) needs the IP codepoint, which the TCP header lacks.
  wire::TcpSegment seg = *decoded;
  seg.ecn = ip.ecn();
  tcp_.on_segment(now, ip.src(), ip.dst(), seg, tcp_out_);
}

void Stack::TcpOut::send(const tcp::FourTuple& id, const wire::TcpSegment& seg) {
  const std::size_t len = wire::header_len(seg) + seg.payload.size();
  TxOffload offload{};
  auto checksum = wire::TcpChecksum::Full;
  if (stack_.cfg_.offload) {
    // Summing 64 KiB is the device's job: it has to touch the bytes anyway.
    checksum = wire::TcpChecksum::PseudoHeaderOnly;
    offload = {.gso_size = seg.payload.size() > seg.tso_segment_size ? seg.tso_segment_size
                                                                     : std::uint16_t{0},
               .partial_checksum = true,
               .csum_start = 0,
               .csum_offset = wire::kTcpChecksumOffset};
    // CWR belongs on the first piece only (RFC 3168 §6.1.2): as Linux's tcp_ecn_send, tell the
    // device (SKB_GSO_TCP_ECN), so that one which cannot clear it on the rest leaves the
    // cutting to the kernel's tcp_gso_segment, which does.
    offload.gso_ecn = offload.gso_size != 0 && seg.flags.cwr();
  }
  stack_.ipv4_.send(
      stack_.now_, id.remote_ip, wire::ip_proto::kTcp, 0, len,
      [&](wire::MutBytes out) { wire::encode(seg, id.local_ip, id.remote_ip, out, checksum); },
      offload, seg.ecn);
}

void Stack::count_tx(std::size_t i, bool written) noexcept {
  if (!written) { return stats_.count(TxDrop::TxError); }
  stats_.add(Counter::TxFrames);
  stats_.add(Counter::TxBytes, tx_[i].size());
  // Counted once the device has the frame: one parked for ARP, or refused by the route, the MTU
  // or the TAP, was never left for the device to cut.
  if (tx_.offload(i).gso_size != 0) { stats_.add(Counter::TxTsoSegments); }
}

std::optional<Instant> Stack::next_deadline() const noexcept {
  const auto a = link_.next_deadline();
  const auto b = tcp_.next_deadline();
  if (a && b) { return std::min(*a, *b); }
  return a ? a : b;
}

void Stack::on_timers(Instant now) noexcept {
  now_ = now;
  link_.on_timers(now);
  tcp_.on_timers(now, tcp_out_);
}

void Stack::shutdown(Instant now) {
  now_ = now;
  tcp_.abort_all(now, tcp_out_);
}

}  // namespace tapsrv
