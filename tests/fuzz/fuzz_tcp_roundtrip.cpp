// decode(parse(encode(s))) == s for any segment we could send, and its checksum verifies.
#include <algorithm>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/segment_input.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {

namespace {

// The IPv4 total length (16 bits) bounds a segment: 20 bytes of IP header and 60 of TCP.
constexpr std::size_t kMaxPayload = 65535 - 20 - wire::kTcpMaxHeaderLen;

}  // namespace

int fuzz_tcp_roundtrip(const std::uint8_t* data, std::size_t size) {
  FuzzInput in{data, size};
  const wire::Ipv4Addr src{in.be32()};
  const wire::Ipv4Addr dst{in.be32()};
  wire::TcpSegment s;
  s.src_port = in.be16();
  s.dst_port = in.be16();
  s.seq = wire::SeqNum{in.be32()};
  s.ack = wire::SeqNum{in.be32()};
  s.flags = wire::TcpFlags{in.u8()};
  s.window = in.be16();
  s.urgent = in.be16();
  s.options = read_options(in);
  const std::uint16_t flip = in.be16();  // which bit to corrupt afterwards
  s.payload = in.take(kMaxPayload);

  const std::size_t hlen = wire::header_len(s);
  std::vector<std::byte> buf(hlen + s.payload.size());
  const std::size_t len = wire::encode(s, src, dst, buf);
  require(len == buf.size(), "encode() length differs from header_len() + payload",
          static_cast<long long>(len), static_cast<long long>(buf.size()));
  require(wire::verify_tcp_checksum(buf, src, dst), "checksum of our own segment");
  const auto view = wire::TcpView::parse(buf);
  require(view.has_value(), "parse() refused our own segment");
  require(view->header_len() == hlen, "data offset", static_cast<long long>(view->header_len()),
          static_cast<long long>(hlen));
  const auto got = wire::decode(*view);
  require(got.has_value(), "decode() refused our own options");
  require(got->src_port == s.src_port && got->dst_port == s.dst_port, "ports");
  require(got->seq == s.seq && got->ack == s.ack, "seq or ack");
  require(got->flags == s.flags, "flags", got->flags.bits, s.flags.bits);
  require(got->window == s.window && got->urgent == s.urgent, "window or urgent pointer");
  require(std::equal(got->payload.begin(), got->payload.end(), s.payload.begin(), s.payload.end()),
          "payload");
  require_same_options(s.options, got->options, hlen);

  // RFC 1071: a one's-complement sum catches every single-bit error.
  const std::size_t bit = flip % (buf.size() * 8);
  buf[bit / 8] ^= std::byte{static_cast<std::uint8_t>(1U << (bit % 8))};
  require(!wire::verify_tcp_checksum(buf, src, dst), "a flipped bit passed the checksum",
          static_cast<long long>(bit));
  return 0;
}

}  // namespace tapsrv::fuzz
