// Test-only builders for Ethernet, ARP, IPv4 and ICMP frames, each with knobs that break one field.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/arp.hpp"
#include "tapsrv/wire/bytes.hpp"
#include "tapsrv/wire/ethernet.hpp"
#include "tapsrv/wire/ipv4.hpp"

namespace tapsrv::test {

/// Every builder returns a vector sized exactly to its contents, so that a parser which reads
/// one byte too far trips AddressSanitizer instead of reading stale capacity.
using Buffer = std::vector<std::byte>;

constexpr wire::Ipv4Addr ip(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return wire::Ipv4Addr::from_octets(a, b, c, d);
}
constexpr wire::MacAddr mac(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                            std::uint8_t e, std::uint8_t f) {
  wire::MacAddr m;
  m.octets = {std::byte{a}, std::byte{b}, std::byte{c}, std::byte{d}, std::byte{e}, std::byte{f}};
  return m;
}

// The default world of the stack tests: us at 10.0.0.2/24, the host side at 10.0.0.1.
inline constexpr wire::MacAddr kOurMac = mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x02);
inline constexpr wire::Ipv4Addr kOurIp = ip(10, 0, 0, 2);
inline constexpr wire::Ipv4Subnet kOurSubnet{kOurIp, 24};
inline constexpr wire::MacAddr kPeerMac = mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x01);
inline constexpr wire::Ipv4Addr kPeerIp = ip(10, 0, 0, 1);

/// Bytes from small integers: bytes({0x45, 0x00}).
Buffer bytes(std::initializer_list<unsigned> values);
/// `n` deterministic, non-constant bytes (so that a reordering shows up).
Buffer pattern(std::size_t n, std::uint8_t seed = 0);
Buffer concat(wire::Bytes a, wire::Bytes b);
/// A copy of the first `n` bytes, in a vector of exactly that size.
Buffer truncated(wire::Bytes b, std::size_t n);

Buffer eth_frame(wire::MacAddr dst, wire::MacAddr src, std::uint16_t type, wire::Bytes payload);

/// 28 bytes, written by wire::write_arp.
Buffer arp_packet(const wire::ArpPacket& p);
/// An ARP frame; the Ethernet source is the ARP sender unless given.
Buffer arp_frame(const wire::ArpPacket& p, wire::MacAddr eth_dst = wire::MacAddr::broadcast(),
                 std::optional<wire::MacAddr> eth_src = std::nullopt);
/// "Who has `target`? Tell `sender_ip`", broadcast.
Buffer arp_request(wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip, wire::Ipv4Addr target);
/// "`sender_ip` is at `sender_mac`", unicast to us.
Buffer arp_reply(wire::MacAddr sender_mac, wire::Ipv4Addr sender_ip, wire::Ipv4Addr target = kOurIp,
                 wire::MacAddr target_mac = kOurMac);

struct Ipv4Spec {
  wire::Ipv4Addr src = kPeerIp;
  wire::Ipv4Addr dst = kOurIp;
  std::uint8_t protocol = wire::ip_proto::kIcmp;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;
  std::uint16_t ident = 0x1234;
  bool dont_fragment = true;
  bool more_fragments = false;
  std::uint16_t fragment_offset_units = 0;  // in 8-byte units, as on the wire
  Buffer options;  // appended after the fixed header; IHL follows unless `ihl` is set

  // Corruptions. These three are written before the checksum, so the checksum stays valid and
  // only the named field lies.
  std::optional<std::uint8_t> version;
  std::optional<std::uint8_t> ihl;
  std::optional<std::uint16_t> total_len;
  bool bad_checksum = false;  // flips a bit of the (otherwise correct) header checksum
  std::size_t padding = 0;    // zero bytes after the packet, outside the total length
};
/// Header written by wire::write_ipv4_header, then patched as `s` asks.
Buffer ipv4_packet(const Ipv4Spec& s, wire::Bytes payload);
Buffer ipv4_frame(const Ipv4Spec& s, wire::Bytes payload, wire::MacAddr eth_dst = kOurMac,
                  wire::MacAddr eth_src = kPeerMac);

/// An ICMP message written by wire::write_icmp; `bad_checksum` flips one checksum bit.
Buffer icmp_message(std::uint8_t type, std::uint8_t code, std::uint32_t rest_of_header,
                    wire::Bytes body, bool bad_checksum = false);
Buffer echo_request(std::uint16_t id, std::uint16_t seq, wire::Bytes data);

/// Drop and counter changes between two snapshots, in enum order, as "name+N" joined by ' '.
/// drops_between: drop reasons, input then tx. events_between: counters except the per-frame
/// rx_frames, rx_bytes, rx_delivered, tx_frames and tx_bytes.
std::string drops_between(const Stats& before, const Stats& after);
std::string events_between(const Stats& before, const Stats& after);

}  // namespace tapsrv::test
