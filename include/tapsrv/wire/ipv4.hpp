// IPv4 headers (RFC 791, RFC 1122 §3.2.1): a validating view for input, a plain header for output.
#pragma once

#include <cstdint>

#include "tapsrv/core/expected.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/wire/addresses.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::wire {

inline constexpr std::size_t kIpv4MinHeaderLen = 20;
inline constexpr std::size_t kIpv4MaxPacketLen = 65535;  // the total length field's limit

namespace ip_proto {
inline constexpr std::uint8_t kIcmp = 1;
inline constexpr std::uint8_t kTcp = 6;
inline constexpr std::uint8_t kUdp = 17;
}  // namespace ip_proto

/// The ECN field, the two low bits of the IPv4 TOS byte (RFC 3168 §5). The values are the wire's.
enum class Ecn : std::uint8_t { NotEct = 0, Ect1 = 1, Ect0 = 2, Ce = 3 };
inline constexpr std::uint8_t kEcnMask = 0x03;

/// Read-only view of a validated IPv4 packet: version 4, 20 <= IHL*4 <= total length <= buffer,
/// header checksum correct. Options are kept in the header and skipped. Bytes past the total
/// length (Ethernet padding) are not part of the view. Borrows the buffer it was parsed from.
class Ipv4View {
 public:
  [[nodiscard]] static Expected<Ipv4View, Drop> parse(Bytes b) noexcept;

  [[nodiscard]] std::size_t header_len() const noexcept { return (load_u8(bytes_, 0) & 0xfU) * 4; }
  [[nodiscard]] std::uint8_t tos() const noexcept { return load_u8(bytes_, 1); }
  /// The codepoint a router may have changed on the way (to CE) and TCP echoes (RFC 3168 §6.1.3).
  [[nodiscard]] Ecn ecn() const noexcept { return static_cast<Ecn>(tos() & kEcnMask); }
  [[nodiscard]] std::uint16_t total_len() const noexcept { return load_be16(bytes_, 2); }
  [[nodiscard]] std::uint16_t ident() const noexcept { return load_be16(bytes_, 4); }
  [[nodiscard]] bool dont_fragment() const noexcept { return (load_u8(bytes_, 6) & 0x40U) != 0; }
  [[nodiscard]] bool more_fragments() const noexcept { return (load_u8(bytes_, 6) & 0x20U) != 0; }
  /// In bytes, not in the 8-byte units of the wire.
  [[nodiscard]] std::uint32_t fragment_offset() const noexcept {
    return std::uint32_t{static_cast<std::uint16_t>(load_be16(bytes_, 6) & 0x1fffU)} * 8;
  }
  [[nodiscard]] bool is_fragment() const noexcept {
    return more_fragments() || fragment_offset() != 0;
  }
  [[nodiscard]] std::uint8_t ttl() const noexcept { return load_u8(bytes_, 8); }
  [[nodiscard]] std::uint8_t protocol() const noexcept { return load_u8(bytes_, 9); }
  [[nodiscard]] Ipv4Addr src() const noexcept { return Ipv4Addr{load_be32(bytes_, 12)}; }
  [[nodiscard]] Ipv4Addr dst() const noexcept { return Ipv4Addr{load_be32(bytes_, 16)}; }
  /// The whole packet, header included, without link padding.
  [[nodiscard]] Bytes packet() const noexcept { return bytes_; }
  [[nodiscard]] Bytes payload() const noexcept { return bytes_.subspan(header_len()); }

 private:
  explicit Ipv4View(Bytes b) noexcept : bytes_{b} {}
  Bytes bytes_;
};

/// Fields we set on output; the header is always 20 bytes (we send no options).
struct Ipv4Header {
  Ipv4Addr src{};
  Ipv4Addr dst{};
  std::uint8_t protocol = 0;
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;  // the DS field (RFC 2474); its two ECN bits are ignored, `ecn` sets them
  Ecn ecn = Ecn::NotEct;
  std::uint16_t ident = 0;
  bool dont_fragment = false;
  std::uint16_t payload_len = 0;
};

/// Writes a 20-byte header with its checksum. Precondition: out.size() >= kIpv4MinHeaderLen and
/// kIpv4MinHeaderLen + h.payload_len <= 65535.
void write_ipv4_header(MutBytes out, const Ipv4Header& h) noexcept;

}  // namespace tapsrv::wire
