#include "tapsrv/wire/tcp.hpp"

#include <algorithm>

#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/ipv4.hpp"

namespace tapsrv::wire {
namespace {

namespace kind {
constexpr std::uint8_t kEnd = 0, kNop = 1, kMss = 2, kWindowScale = 3, kSackPermitted = 4,
                       kSack = 5, kTimestamps = 8;
}  // namespace kind

constexpr std::size_t kMaxOptionsLen = kTcpMaxHeaderLen - kTcpMinHeaderLen;

// One option with a valid length; false when it is malformed.
bool decode_one(std::uint8_t k, Bytes body, TcpOptions& o) noexcept {
  switch (k) {
    case kind::kMss:
      if (body.size() != 2) { return false; }
      o.mss = load_be16(body, 0);
      return true;
    case kind::kWindowScale:
      if (body.size() != 1) { return false; }
      o.window_scale = load_u8(body, 0);
      return true;
    case kind::kSackPermitted: o.sack_permitted = body.empty(); return body.empty();
    case kind::kTimestamps:
      if (body.size() != 8) { return false; }
      o.timestamps = Timestamps{load_be32(body, 0), load_be32(body, 4)};
      return true;
    case kind::kSack: {
      if (body.empty() || body.size() % 8 != 0 || body.size() / 8 > o.sack.size()) { return false; }
      o.sack_count = static_cast<std::uint8_t>(body.size() / 8);
      for (std::size_t i = 0; i < o.sack_count; ++i) {
        o.sack[i] = SackBlock{SeqNum{load_be32(body, i * 8)}, SeqNum{load_be32(body, i * 8 + 4)}};
      }
      return true;
    }
    default: return true;  // RFC 9293 §3.2: ignore options we do not know
  }
}

}  // namespace

Expected<TcpView, Drop> TcpView::parse(Bytes b) noexcept {
  if (b.size() < kTcpMinHeaderLen) { return Drop::TcpTruncated; }
  const TcpView v{b};
  if (v.header_len() < kTcpMinHeaderLen || v.header_len() > b.size()) {
    return Drop::TcpBadDataOffset;
  }
  return v;
}

bool verify_tcp_checksum(Bytes segment, Ipv4Addr src, Ipv4Addr dst) noexcept {
  return Checksum{}
             .add_pseudo_header(src, dst, ip_proto::kTcp,
                                static_cast<std::uint16_t>(segment.size()))
             .add(segment)
             .finish() == 0;
}

Expected<TcpOptions, Drop> decode_options(Bytes b) noexcept {
  TcpOptions o;
  std::size_t i = 0;
  while (i < b.size()) {
    const std::uint8_t k = load_u8(b, i);
    if (k == kind::kEnd) { break; }
    if (k == kind::kNop) {
      ++i;
      continue;
    }
    // Every other kind has a length byte that counts itself and the kind (RFC 9293 §3.1).
    if (i + 1 >= b.size()) { return Drop::TcpBadOption; }
    const std::size_t len = load_u8(b, i + 1);
    if (len < 2 || i + len > b.size()) { return Drop::TcpBadOption; }
    if (!decode_one(k, b.subspan(i + 2, len - 2), o)) { return Drop::TcpBadOption; }
    i += len;
  }
  return o;
}

Expected<TcpSegment, Drop> decode(const TcpView& v) noexcept {
  const auto b = v.bytes();
  const auto options = decode_options(v.options());
  if (!options) { return options.error(); }
  return TcpSegment{.src_port = v.src_port(),
                    .dst_port = v.dst_port(),
                    .seq = SeqNum{load_be32(b, 4)},
                    .ack = SeqNum{load_be32(b, 8)},
                    .flags = TcpFlags{load_u8(b, 13)},
                    .window = load_be16(b, 14),
                    .urgent = load_be16(b, 18),
                    .options = *options,
                    .payload = v.payload()};
}

namespace {

// Lays out the options the way Linux does (tcp_options_write), so captures look familiar.
std::size_t write_options(const TcpOptions& o, MutBytes out) noexcept {
  std::size_t n = 0;
  auto put = [&](std::uint8_t v) { out[n++] = std::byte{v}; };
  if (o.mss) {
    put(kind::kMss);
    put(4);
    store_be16(out, n, *o.mss);
    n += 2;
  }
  if (o.timestamps) {
    if (o.sack_permitted) {
      put(kind::kSackPermitted);
      put(2);
    } else {
      put(kind::kNop);
      put(kind::kNop);
    }
    put(kind::kTimestamps);
    put(10);
    store_be32(out, n, o.timestamps->value);
    store_be32(out, n + 4, o.timestamps->echo);
    n += 8;
  } else if (o.sack_permitted) {
    put(kind::kNop);
    put(kind::kNop);
    put(kind::kSackPermitted);
    put(2);
  }
  if (o.window_scale) {
    put(kind::kNop);
    put(kind::kWindowScale);
    put(3);
    put(*o.window_scale);
  }
  // As many SACK blocks as still fit in the 40 bytes of option space.
  const std::size_t room = n + 4 <= kMaxOptionsLen ? (kMaxOptionsLen - n - 4) / 8 : 0;
  const std::size_t blocks = std::min<std::size_t>(o.sack_count, room);
  if (blocks > 0) {
    put(kind::kNop);
    put(kind::kNop);
    put(kind::kSack);
    put(static_cast<std::uint8_t>(2 + 8 * blocks));
    for (std::size_t i = 0; i < blocks; ++i) {
      store_be32(out, n, o.sack[i].left.raw);
      store_be32(out, n + 4, o.sack[i].right.raw);
      n += 8;
    }
  }
  while (n % 4 != 0) { put(kind::kEnd); }
  return n;
}

}  // namespace

std::size_t header_len(const TcpSegment& s) noexcept {
  std::array<std::byte, kMaxOptionsLen> scratch{};
  return kTcpMinHeaderLen + write_options(s.options, scratch);
}

std::size_t encode(const TcpSegment& s, Ipv4Addr src, Ipv4Addr dst, MutBytes out,
                   TcpChecksum checksum) noexcept {
  const std::size_t hlen = kTcpMinHeaderLen + write_options(s.options, out.subspan(20));
  store_be16(out, 0, s.src_port);
  store_be16(out, 2, s.dst_port);
  store_be32(out, 4, s.seq.raw);
  store_be32(out, 8, s.ack.raw);
  out[12] = static_cast<std::byte>((hlen / 4) << 4);
  out[13] = std::byte{s.flags.bits};
  store_be16(out, 14, s.window);
  store_be16(out, 16, 0);
  store_be16(out, 18, s.urgent);
  std::copy(s.payload.begin(), s.payload.end(), out.begin() + static_cast<std::ptrdiff_t>(hlen));
  const std::size_t len = hlen + s.payload.size();
  Checksum sum;
  sum.add_pseudo_header(src, dst, ip_proto::kTcp, static_cast<std::uint16_t>(len));
  if (checksum == TcpChecksum::PseudoHeaderOnly) {
    // The device adds the segment to this and complements: so store the sum uncomplemented.
    store_be16(out, kTcpChecksumOffset, static_cast<std::uint16_t>(~sum.finish()));
    return len;
  }
  store_be16(out, kTcpChecksumOffset, sum.add(out.first(len)).finish());
  return len;
}

}  // namespace tapsrv::wire
