#include "tapsrv/link/link_layer.hpp"

#include "tapsrv/wire/arp.hpp"
#include "tapsrv/wire/ethernet.hpp"

namespace tapsrv::link {

using wire::ArpOp;
using wire::Ipv4Addr;
using wire::MacAddr;

LinkLayer::LinkLayer(const LinkConfig& cfg, TxQueue& tx, Stats& stats, LinkObserver& obs)
    : cfg_{cfg}, tx_{tx}, stats_{stats}, obs_{obs}, neighbors_{cfg.neighbors} {}

void LinkLayer::announce() {
  send_arp(static_cast<std::uint16_t>(ArpOp::Request), MacAddr::broadcast(), MacAddr{}, cfg_.ip);
  stats_.add(Counter::ArpGratuitousSent);
}

void LinkLayer::on_arp(Instant now, wire::Bytes payload) {
  const auto arp = wire::parse_arp(payload);
  if (!arp) { return stats_.count(arp.error()); }
  const bool is_request = arp->op == static_cast<std::uint16_t>(ArpOp::Request);
  if (!is_request && arp->op != static_cast<std::uint16_t>(ArpOp::Reply)) {
    return stats_.count(Drop::ArpUnsupportedOp);
  }
  // A sender hardware address that is a group address or zero cannot be a neighbour's.
  if (arp->sender_mac.is_multicast() || arp->sender_mac.is_zero()) {
    return stats_.count(Drop::ArpMalformed);
  }
  if (arp->sender_ip == cfg_.ip) {
    obs_.on_address_conflict(arp->sender_ip, arp->sender_mac);
    return stats_.count(Drop::ArpConflict);
  }
  // RFC 826 "merge": refresh an existing entry whoever the packet is for...
  const bool probe = arp->sender_ip.is_unspecified();  // RFC 5227 §2.1.1 probe: learn nothing
  const bool merged = !probe && neighbors_.contains(arp->sender_ip, now);
  if (merged) { learn(now, arp->sender_ip, arp->sender_mac); }
  // Not for us: counted as a drop even when it refreshed an entry, so that every ARP frame is
  // exactly one of answered, reply received, or dropped.
  if (arp->target_ip != cfg_.ip) { return stats_.count(Drop::ArpNotForUs); }
  // ...and add a new one only when the packet is addressed to us, and from an address we could
  // send to: an entry for an off-subnet sender is never looked up, and a peer claiming many
  // of them would evict the neighbours we do use. (Linux's arp_process learns only what passes
  // its route check, ip_route_input from the sender.)
  if (!probe && !merged && is_possible_neighbor(arp->sender_ip)) {
    learn(now, arp->sender_ip, arp->sender_mac);
  }
  if (!is_request) { return stats_.add(Counter::ArpRepliesReceived); }
  send_arp(static_cast<std::uint16_t>(ArpOp::Reply), arp->sender_mac, arp->sender_mac,
           arp->sender_ip);
  stats_.add(Counter::ArpRequestsAnswered);
}

void LinkLayer::learn(Instant now, Ipv4Addr ip, MacAddr mac) {
  const auto learned = neighbors_.learn(ip, mac, now);
  if (learned != NeighborTable::Learned::Refreshed) {
    stats_.add(Counter::ArpLearned);
    obs_.on_neighbor_learned(ip, mac, learned == NeighborTable::Learned::Changed);
  }
  for (const auto& parked : neighbors_.take_parked(ip)) {
    auto frame = tx_.push(parked.bytes.size(), parked.offload);
    std::copy(parked.bytes.begin(), parked.bytes.end(), frame.begin());
    mac.write_to(frame);  // the destination was left blank when the frame was parked
  }
}

bool LinkLayer::is_possible_neighbor(Ipv4Addr ip) const noexcept {
  if (cfg_.gateway && ip == *cfg_.gateway) { return true; }
  return cfg_.subnet.contains(ip) && !cfg_.subnet.is_directed_broadcast(ip) &&
         ip != cfg_.subnet.network();
}

wire::MutBytes LinkLayer::begin_ipv4(std::size_t ip_len, TxOffload offload) {
  if (offload.partial_checksum) { offload.csum_start += wire::kEthHeaderLen; }
  auto frame = tx_.push(wire::kEthHeaderLen + ip_len, offload);
  return frame.subspan(wire::kEthHeaderLen);
}

void LinkLayer::finish_ipv4(Instant now, Ipv4Addr next_hop) {
  auto frame = tx_.back();
  if (const auto mac = neighbors_.lookup(next_hop, now)) {
    wire::write_ethernet_header(frame, *mac, cfg_.mac, wire::ethertype::kIpv4);
    return;
  }
  wire::write_ethernet_header(frame, MacAddr{}, cfg_.mac, wire::ethertype::kIpv4);
  const auto parked = neighbors_.park(next_hop, frame, now, tx_.back_offload());
  tx_.pop_back();
  switch (parked) {
    case NeighborTable::Parked::StartResolution: return request(next_hop);
    case NeighborTable::Parked::Queued: return;
    case NeighborTable::Parked::QueueFull: return stats_.count(TxDrop::ArpQueueFull);
  }
}

void LinkLayer::on_timers(Instant now) {
  neighbors_.on_timers(
      now, [this](Ipv4Addr ip) { request(ip); },
      [this](Ipv4Addr ip, std::size_t dropped) {
        for (std::size_t i = 0; i < dropped; ++i) { stats_.count(TxDrop::ArpUnresolved); }
        obs_.on_neighbor_unreachable(ip, dropped);
      });
}

void LinkLayer::request(Ipv4Addr ip) {
  send_arp(static_cast<std::uint16_t>(ArpOp::Request), MacAddr::broadcast(), MacAddr{}, ip);
  stats_.add(Counter::ArpRequestsSent);
}

void LinkLayer::send_arp(std::uint16_t op, MacAddr eth_dst, MacAddr target_mac,
                         Ipv4Addr target_ip) {
  auto frame = tx_.push(wire::kEthHeaderLen + wire::kArpLen);
  wire::write_ethernet_header(frame, eth_dst, cfg_.mac, wire::ethertype::kArp);
  wire::write_arp(frame.subspan(wire::kEthHeaderLen), wire::ArpPacket{.op = op,
                                                                      .sender_mac = cfg_.mac,
                                                                      .sender_ip = cfg_.ip,
                                                                      .target_mac = target_mac,
                                                                      .target_ip = target_ip});
}

}  // namespace tapsrv::link
