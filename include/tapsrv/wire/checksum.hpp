// The Internet checksum (RFC 1071), shared by IPv4, ICMP and TCP.
#pragma once

#include <cstdint>

#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::wire {

/// Accumulates 16-bit ones' complement sums over any number of chunks, odd lengths included:
/// a chunk that ends on an odd byte is continued correctly by the next one.
class Checksum {
 public:
  Checksum& add(Bytes b) noexcept;
  Checksum& add_u16(std::uint16_t v) noexcept;
  /// The IPv4 pseudo-header of TCP and UDP (RFC 9293 §3.1, RFC 768).
  Checksum& add_pseudo_header(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                              std::uint16_t length) noexcept;
  /// Ones' complement of the folded sum: the value to store, or 0 when verifying a valid packet.
  [[nodiscard]] std::uint16_t finish() const noexcept;

 private:
  std::uint64_t sum_ = 0;
  bool odd_ = false;  // the last chunk ended between the two bytes of a 16-bit word
};

/// The checksum of a single chunk.
[[nodiscard]] inline std::uint16_t checksum(Bytes b) noexcept { return Checksum{}.add(b).finish(); }

}  // namespace tapsrv::wire
