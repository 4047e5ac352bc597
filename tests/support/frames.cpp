#include "support/frames.hpp"

#include <algorithm>

#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/icmpv4.hpp"

namespace tapsrv::test {

Buffer bytes(std::initializer_list<unsigned> values) {
  Buffer b;
  b.reserve(values.size());
  for (const unsigned v : values) { b.push_back(static_cast<std::byte>(v)); }
  return b;
}

Buffer pattern(std::size_t n, std::uint8_t seed) {
  Buffer b(n);
  for (std::size_t i = 0; i < n; ++i) { b[i] = static_cast<std::byte>((i * 7 + seed + 1) & 0xff); }
  return b;
}

Buffer concat(wire::Bytes a, wire::Bytes b) {
  Buffer out(a.size() + b.size());
  std::copy(a.begin(), a.end(), out.begin());
  std::copy(b.begin(), b.end(), out.begin() + static_cast<std::ptrdiff_t>(a.size()));
  return out;
}

Buffer truncated(wire::Bytes b, std::size_t n) {
  return Buffer(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min(n, b.size())));
}

Buffer eth_frame(wire::MacAddr dst, wire::MacAddr src, std::uint16_t type, wire::Bytes payload) {
  Buffer f(wire::kEthHeaderLen + payload.size());
  wire::write_ethernet_header(f, dst, src, type);
  std::copy(payload.begin(), payload.end(), f.begin() + wire::kEthHeaderLen);
  return f;
}

Buffer arp_packet(const wire::ArpPacket& p) {
  Buffer b(wire::kArpLen);
  wire::write_arp(b, p);
  return b;
}

Buffer arp_frame(const wire::ArpPacket& p, wire::MacAddr eth_dst,
                 std::optional<wire::MacAddr> eth_src) {
  return eth_frame(eth_dst, eth_src.value_or(p.sender_mac), wire::ethertype::kArp, arp_packet(p));
}

Buffer arp_request(wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip, wire::Ipv4Addr target) {
  return arp_frame({.op = 1,
                    .sender_mac = sender_mac,
                    .sender_ip = sender_ip,
                    .target_mac = {},
                    .target_ip = target});
}

Buffer arp_reply(wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip, wire::Ipv4Addr target,
                 wire::MacAddr target_mac) {
  return arp_frame({.op = 2,
                    .sender_mac = sender_mac,
                    .sender_ip = sender_ip,
                    .target_mac = target_mac,
                    .target_ip = target},
                   target_mac);
}

Buffer ipv4_packet(const Ipv4Spec& s, wire::Bytes payload) {
  const std::size_t header_len = wire::kIpv4MinHeaderLen + s.options.size();
  Buffer b(header_len + payload.size() + s.padding);
  wire::write_ipv4_header(b, wire::Ipv4Header{
                                 .src = s.src,
                                 .dst = s.dst,
                                 .protocol = s.protocol,
                                 .ttl = s.ttl,
                                 .tos = s.tos,
                                 .ecn = static_cast<wire::Ecn>(s.tos & wire::kEcnMask),
                                 .ident = s.ident,
                                 .dont_fragment = s.dont_fragment,
                                 .payload_len = static_cast<std::uint16_t>(payload.size()),
                             });
  std::copy(s.options.begin(), s.options.end(), b.begin() + wire::kIpv4MinHeaderLen);
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<std::ptrdiff_t>(header_len));

  const auto version = s.version.value_or(4);
  const auto ihl = s.ihl.value_or(static_cast<std::uint8_t>(header_len / 4));
  b[0] = static_cast<std::byte>(((version & 0xfU) << 4) | (ihl & 0xfU));
  wire::store_be16(b, 2,
                   s.total_len.value_or(static_cast<std::uint16_t>(header_len + payload.size())));
  const auto frag = static_cast<std::uint16_t>((s.dont_fragment ? 0x4000U : 0U) |
                                               (s.more_fragments ? 0x2000U : 0U) |
                                               (s.fragment_offset_units & 0x1fffU));
  wire::store_be16(b, 6, frag);

  // The checksum covers the header as the receiver will see it: the IHL we wrote, clamped to
  // 20 bytes below and to the buffer above, so that a lying IHL is the only thing wrong.
  const std::size_t sum_len =
      std::clamp<std::size_t>(std::size_t{ihl & 0xfU} * 4, wire::kIpv4MinHeaderLen, b.size());
  wire::store_be16(b, 10, 0);
  auto sum = wire::checksum(wire::Bytes{b}.first(sum_len));
  if (s.bad_checksum) { sum ^= 0x0001; }
  wire::store_be16(b, 10, sum);
  return b;
}

Buffer ipv4_frame(const Ipv4Spec& s, wire::Bytes payload, wire::MacAddr eth_dst,
                  wire::MacAddr eth_src) {
  return eth_frame(eth_dst, eth_src, wire::ethertype::kIpv4, ipv4_packet(s, payload));
}

Buffer icmp_message(std::uint8_t type, std::uint8_t code, std::uint32_t rest_of_header,
                    wire::Bytes body, bool bad_checksum) {
  Buffer b(wire::kIcmpHeaderLen + body.size());
  wire::write_icmp(b, type, code, rest_of_header, body);
  if (bad_checksum) { b[3] ^= std::byte{0x01}; }
  return b;
}

Buffer echo_request(std::uint16_t id, std::uint16_t seq, wire::Bytes data) {
  return icmp_message(wire::icmp_type::kEchoRequest, 0, (std::uint32_t{id} << 16) | seq, data);
}

namespace {
std::string join_changes(const Stats& before, const Stats& after, bool drops) {
  std::string out;
  const auto append = [&out](std::string_view name, std::uint64_t b, std::uint64_t a) {
    if (a == b) { return; }
    if (!out.empty()) { out += ' '; }
    out += name;
    out += a > b ? "+" + std::to_string(a - b) : "-" + std::to_string(b - a);
  };
  if (drops) {
    for (std::size_t i = 0; i < Stats::kDropCount; ++i) {
      const auto d = static_cast<Drop>(i);
      append(name(d), before.get(d), after.get(d));
    }
    for (std::size_t i = 0; i < Stats::kTxDropCount; ++i) {
      const auto d = static_cast<TxDrop>(i);
      append(name(d), before.get(d), after.get(d));
    }
  } else {
    for (std::size_t i = 0; i < Stats::kCounterCount; ++i) {
      const auto c = static_cast<Counter>(i);
      // Every frame moves these; tests name the events that say what a frame did.
      if (c == Counter::RxFrames || c == Counter::RxBytes || c == Counter::RxDelivered ||
          c == Counter::TxFrames || c == Counter::TxBytes) {
        continue;
      }
      append(name(c), before.get(c), after.get(c));
    }
  }
  return out;
}
}  // namespace

std::string drops_between(const Stats& before, const Stats& after) {
  return join_changes(before, after, true);
}

std::string events_between(const Stats& before, const Stats& after) {
  return join_changes(before, after, false);
}

}  // namespace tapsrv::test
