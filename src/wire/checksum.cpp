#include "tapsrv/wire/checksum.hpp"

namespace tapsrv::wire {

Checksum& Checksum::add(Bytes b) noexcept {
  std::size_t i = 0;
  if (odd_ && !b.empty()) {
    sum_ += std::to_integer<std::uint64_t>(b[0]);
    i = 1;
    odd_ = false;
  }
  // Whole 32-bit words: a 64-bit accumulator cannot overflow for any packet we can hold.
  for (; i + 4 <= b.size(); i += 4) { sum_ += load_be32(b, i); }
  for (; i + 2 <= b.size(); i += 2) { sum_ += load_be16(b, i); }
  if (i < b.size()) {
    sum_ += std::to_integer<std::uint64_t>(b[i]) << 8;
    odd_ = true;
  }
  return *this;
}

Checksum& Checksum::add_u16(std::uint16_t v) noexcept {
  // Keep byte alignment: after an odd chunk the high byte continues the pending word.
  const std::byte pair[2] = {static_cast<std::byte>(v >> 8), static_cast<std::byte>(v & 0xff)};
  return add(Bytes{pair, 2});
}

Checksum& Checksum::add_pseudo_header(Ipv4Addr src, Ipv4Addr dst, std::uint8_t protocol,
                                      std::uint16_t length) noexcept {
  add_u16(static_cast<std::uint16_t>(src.value >> 16));
  add_u16(static_cast<std::uint16_t>(src.value & 0xffff));
  add_u16(static_cast<std::uint16_t>(dst.value >> 16));
  add_u16(static_cast<std::uint16_t>(dst.value & 0xffff));
  add_u16(protocol);
  return add_u16(length);
}

std::uint16_t Checksum::finish() const noexcept {
  std::uint64_t s = sum_;
  while ((s >> 16) != 0) { s = (s & 0xffff) + (s >> 16); }
  return static_cast<std::uint16_t>(~s & 0xffff);
}

}  // namespace tapsrv::wire
