#include "fuzz/segment_input.hpp"

namespace tapsrv::fuzz {

wire::TcpOptions read_options(FuzzInput& in) noexcept {
  const std::uint8_t present = in.u8();
  wire::TcpOptions o;
  if ((present & 0x01U) != 0) { o.mss = in.be16(); }
  if ((present & 0x02U) != 0) { o.window_scale = in.u8(); }
  o.sack_permitted = (present & 0x04U) != 0;
  if ((present & 0x08U) != 0) {
    const std::uint32_t value = in.be32();
    o.timestamps = wire::Timestamps{value, in.be32()};
  }
  const unsigned blocks = (present >> 4) & 0x07U;
  o.sack_count = static_cast<std::uint8_t>(blocks < o.sack.size() ? blocks : o.sack.size());
  for (std::size_t i = 0; i < o.sack_count; ++i) {
    const wire::SeqNum left{in.be32()};
    o.sack[i] = wire::SackBlock{left, wire::SeqNum{in.be32()}};
  }
  return o;
}

void require_same_options(const wire::TcpOptions& want, const wire::TcpOptions& got,
                          std::size_t header_len) noexcept {
  require(header_len % 4 == 0 && header_len >= wire::kTcpMinHeaderLen &&
              header_len <= wire::kTcpMaxHeaderLen,
          "header length", static_cast<long long>(header_len));
  require(got.mss == want.mss, "mss");
  require(got.window_scale == want.window_scale, "window scale");
  require(got.sack_permitted == want.sack_permitted, "sack permitted");
  require(got.timestamps == want.timestamps, "timestamps");
  require(got.sack_count <= want.sack_count, "sack block count grew", got.sack_count,
          want.sack_count);
  for (std::size_t i = 0; i < got.sack_count; ++i) {
    require(got.sack[i] == want.sack[i], "sack block", static_cast<long long>(i));
  }
  if (got.sack_count < want.sack_count) {
    // One more block needs 8 bytes, the first one also the option's 4-byte preamble.
    const std::size_t more = got.sack_count == 0 ? 12 : 8;
    require(header_len + more > wire::kTcpMaxHeaderLen, "sack blocks dropped with room left",
            got.sack_count, want.sack_count);
  }
}

}  // namespace tapsrv::fuzz
