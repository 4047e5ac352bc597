// ICMPv4 messages (RFC 792, RFC 1122 §3.2.2): echo and destination unreachable.
#pragma once

#include <cstdint>

#include "tapsrv/core/expected.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::wire {

inline constexpr std::size_t kIcmpHeaderLen = 8;

namespace icmp_type {
inline constexpr std::uint8_t kEchoReply = 0;
inline constexpr std::uint8_t kDestUnreachable = 3;
inline constexpr std::uint8_t kSourceQuench = 4;
inline constexpr std::uint8_t kRedirect = 5;
inline constexpr std::uint8_t kEchoRequest = 8;
inline constexpr std::uint8_t kTimeExceeded = 11;
inline constexpr std::uint8_t kParameterProblem = 12;
}  // namespace icmp_type

namespace unreachable_code {
inline constexpr std::uint8_t kProtocol = 2;
inline constexpr std::uint8_t kPort = 3;
}  // namespace unreachable_code

/// Read-only view of an ICMP message whose checksum is valid. Borrows the IP payload.
class IcmpView {
 public:
  [[nodiscard]] static Expected<IcmpView, Drop> parse(Bytes b) noexcept;

  [[nodiscard]] std::uint8_t type() const noexcept { return load_u8(bytes_, 0); }
  [[nodiscard]] std::uint8_t code() const noexcept { return load_u8(bytes_, 1); }
  /// Bytes 4..7: identifier and sequence number for echo, unused or MTU for errors.
  [[nodiscard]] std::uint32_t rest_of_header() const noexcept { return load_be32(bytes_, 4); }
  [[nodiscard]] Bytes body() const noexcept { return bytes_.subspan(kIcmpHeaderLen); }
  /// RFC 1122 §3.2.2: an error message must never be answered by another error.
  [[nodiscard]] bool is_error() const noexcept;

 private:
  explicit IcmpView(Bytes b) noexcept : bytes_{b} {}
  Bytes bytes_;
};

/// Writes an ICMP message (header, then `body`) with its checksum and returns its length.
/// Precondition: out.size() >= kIcmpHeaderLen + body.size(), and `body` does not overlap `out`.
std::size_t write_icmp(MutBytes out, std::uint8_t type, std::uint8_t code,
                       std::uint32_t rest_of_header, Bytes body) noexcept;

}  // namespace tapsrv::wire
