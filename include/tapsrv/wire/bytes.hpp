// Big-endian loads and stores on byte spans; callers have already checked the bounds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace tapsrv::wire {

using Bytes = std::span<const std::byte>;
using MutBytes = std::span<std::byte>;

/// Precondition: off + 2 <= b.size().
constexpr std::uint16_t load_be16(Bytes b, std::size_t off) noexcept {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(b[off]) << 8) |
                                    std::to_integer<unsigned>(b[off + 1]));
}

/// Precondition: off + 4 <= b.size().
constexpr std::uint32_t load_be32(Bytes b, std::size_t off) noexcept {
  return (std::uint32_t{load_be16(b, off)} << 16) | load_be16(b, off + 2);
}

/// Precondition: off + 2 <= b.size().
constexpr void store_be16(MutBytes b, std::size_t off, std::uint16_t v) noexcept {
  b[off] = static_cast<std::byte>(v >> 8);
  b[off + 1] = static_cast<std::byte>(v & 0xff);
}

/// Precondition: off + 4 <= b.size().
constexpr void store_be32(MutBytes b, std::size_t off, std::uint32_t v) noexcept {
  store_be16(b, off, static_cast<std::uint16_t>(v >> 16));
  store_be16(b, off + 2, static_cast<std::uint16_t>(v & 0xffff));
}

constexpr std::uint8_t load_u8(Bytes b, std::size_t off) noexcept {
  return std::to_integer<std::uint8_t>(b[off]);
}

}  // namespace tapsrv::wire
