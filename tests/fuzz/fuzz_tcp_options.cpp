// The option decoder on any bytes: it must not read out of bounds, and what it accepts must come
// back the same from our encoder (which is what puts those options on the wire).
#include <array>
#include <span>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/segment_input.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {

int fuzz_tcp_options(const std::uint8_t* data, std::size_t size) {
  // libFuzzer (and the replay test) hand over an exact-size heap buffer, so AddressSanitizer
  // sees a read one byte past the options.
  const auto options = wire::decode_options(std::as_bytes(std::span{data, size}));
  if (!options) {
    require(options.error() == Drop::TcpBadOption, "decode_options() error reason");
    return 0;
  }
  wire::TcpSegment s;
  s.options = *options;
  std::array<std::byte, wire::kTcpMaxHeaderLen> buf{};
  const std::size_t len = wire::encode(s, wire::Ipv4Addr{1}, wire::Ipv4Addr{2}, buf);
  require(len == wire::header_len(s), "encode() length", static_cast<long long>(len));
  const auto view = wire::TcpView::parse(std::span{buf}.first(len));
  require(view.has_value(), "parse() refused our own header");
  const auto again = wire::decode(*view);
  require(again.has_value(), "decode() refused our own options");
  require_same_options(*options, again->options, len);
  return 0;
}

}  // namespace tapsrv::fuzz
