#include <array>

#include "service/handlers.hpp"

namespace tapsrv::service {
namespace {

constexpr std::size_t kLineLen = 72;
constexpr std::size_t kPrintable = 95;  // ' ' .. '~'

// RFC 864's pattern: line i holds 72 printable characters starting at character i, then CR LF;
// after 95 lines it repeats. Built once, streamed from by offset.
const std::array<std::byte, kPrintable*(kLineLen + 2)>& pattern() {
  static const auto block = [] {
    std::array<std::byte, kPrintable*(kLineLen + 2)> b{};
    std::size_t k = 0;
    for (std::size_t line = 0; line < kPrintable; ++line) {
      for (std::size_t i = 0; i < kLineLen; ++i) {
        b[k++] = static_cast<std::byte>(' ' + (line + i) % kPrintable);
      }
      b[k++] = std::byte{'\r'};
      b[k++] = std::byte{'\n'};
    }
    return b;
  }();
  return block;
}

}  // namespace

void Chargen::fill(tcp::Connection& c) {
  const auto& p = pattern();
  while (c.writable() > 0) {
    const auto piece = wire::Bytes{p}.subspan(offset_);
    const std::size_t n = c.write(piece.first(std::min(piece.size(), c.writable())));
    offset_ = (offset_ + n) % p.size();
    if (n == 0) { break; }
  }
}

void Chargen::on_readable(tcp::Connection& c) {
  c.consume(c.readable());
  if (c.peer_closed()) { c.close(); }
}

}  // namespace tapsrv::service
