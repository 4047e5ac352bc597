// Link and network addresses as plain values (MAC: IEEE 802; IPv4: RFC 791, RFC 1122 §3.2.1.3).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::wire {

struct MacAddr {
  std::array<std::byte, 6> octets{};

  static constexpr MacAddr broadcast() noexcept {
    MacAddr m;
    m.octets.fill(std::byte{0xff});
    return m;
  }
  /// Precondition: b.size() >= 6.
  static constexpr MacAddr from(Bytes b) noexcept {
    MacAddr m;
    std::copy_n(b.begin(), 6, m.octets.begin());
    return m;
  }
  /// Precondition: out.size() >= 6.
  constexpr void write_to(MutBytes out) const noexcept {
    std::copy(octets.begin(), octets.end(), out.begin());
  }
  [[nodiscard]] constexpr bool is_broadcast() const noexcept { return *this == broadcast(); }
  /// Group bit set: broadcast is a multicast address too.
  [[nodiscard]] constexpr bool is_multicast() const noexcept {
    return (std::to_integer<unsigned>(octets[0]) & 1U) != 0;
  }
  [[nodiscard]] constexpr bool is_zero() const noexcept { return *this == MacAddr{}; }
  friend constexpr bool operator==(const MacAddr&, const MacAddr&) noexcept = default;
};

/// IPv4 address in host byte order.
struct Ipv4Addr {
  std::uint32_t value = 0;

  static constexpr Ipv4Addr from_octets(std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                        std::uint8_t d) noexcept {
    return Ipv4Addr{(std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) |
                    d};
  }
  [[nodiscard]] constexpr bool is_unspecified() const noexcept { return value == 0; }
  [[nodiscard]] constexpr bool is_limited_broadcast() const noexcept {
    return value == 0xffffffffU;
  }
  [[nodiscard]] constexpr bool is_multicast() const noexcept { return (value >> 28) == 0xe; }
  [[nodiscard]] constexpr bool is_loopback() const noexcept { return (value >> 24) == 127; }
  friend constexpr bool operator==(Ipv4Addr, Ipv4Addr) noexcept = default;
};

/// An address with its prefix length, e.g. 10.0.0.2/24.
struct Ipv4Subnet {
  Ipv4Addr addr{};
  std::uint8_t prefix_len = 32;  // 0..32

  [[nodiscard]] constexpr std::uint32_t mask() const noexcept {
    return prefix_len == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix_len);
  }
  [[nodiscard]] constexpr Ipv4Addr network() const noexcept { return {addr.value & mask()}; }
  [[nodiscard]] constexpr Ipv4Addr broadcast() const noexcept { return {addr.value | ~mask()}; }
  [[nodiscard]] constexpr bool contains(Ipv4Addr a) const noexcept {
    return (a.value & mask()) == network().value;
  }
  /// The all-ones host address of a subnet that has one (/31 and /32 do not, RFC 3021).
  [[nodiscard]] constexpr bool is_directed_broadcast(Ipv4Addr a) const noexcept {
    return prefix_len < 31 && a == broadcast();
  }
};

/// Fixed-size text of an address; no allocation, so the pure layers can use it too.
struct AddrText {
  std::array<char, 18> chars{};
  std::uint8_t len = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {chars.data(), len}; }
};

AddrText to_text(MacAddr m) noexcept;   // "02:00:0a:00:00:02"
AddrText to_text(Ipv4Addr a) noexcept;  // "10.0.0.2"

}  // namespace tapsrv::wire
