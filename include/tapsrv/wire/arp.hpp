// ARP for IPv4 over Ethernet (RFC 826), the only hardware/protocol pair we speak.
#pragma once

#include <cstdint>

#include "tapsrv/core/expected.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::wire {

inline constexpr std::size_t kArpLen = 28;

enum class ArpOp : std::uint16_t { Request = 1, Reply = 2 };

/// A decoded ARP packet. `op` keeps the raw value so unknown operations can be counted.
struct ArpPacket {
  std::uint16_t op = 0;
  MacAddr sender_mac{};
  Ipv4Addr sender_ip{};
  MacAddr target_mac{};
  Ipv4Addr target_ip{};
  friend bool operator==(const ArpPacket&, const ArpPacket&) noexcept = default;
};

/// Decodes an Ethernet/IPv4 ARP packet; trailing bytes (frame padding) are ignored.
[[nodiscard]] Expected<ArpPacket, Drop> parse_arp(Bytes b) noexcept;
/// Writes kArpLen bytes. Precondition: out.size() >= kArpLen.
void write_arp(MutBytes out, const ArpPacket& p) noexcept;

}  // namespace tapsrv::wire
