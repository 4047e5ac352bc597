#include "tapsrv/wire/addresses.hpp"

#include <charconv>

namespace tapsrv::wire {

AddrText to_text(MacAddr m) noexcept {
  static constexpr std::string_view kHex = "0123456789abcdef";
  AddrText t;
  for (std::size_t i = 0; i < m.octets.size(); ++i) {
    const auto v = std::to_integer<unsigned>(m.octets[i]);
    if (i != 0) { t.chars[t.len++] = ':'; }
    t.chars[t.len++] = kHex[v >> 4];
    t.chars[t.len++] = kHex[v & 0xf];
  }
  return t;
}

AddrText to_text(Ipv4Addr a) noexcept {
  AddrText t;
  char* p = t.chars.data();
  char* const end = p + t.chars.size();
  for (int shift = 24; shift >= 0; shift -= 8) {
    p = std::to_chars(p, end, (a.value >> shift) & 0xffU).ptr;
    if (shift != 0) { *p++ = '.'; }
  }
  t.len = static_cast<std::uint8_t>(p - t.chars.data());
  return t;
}

}  // namespace tapsrv::wire
