// TCP header view, option codec and checksum (RFC 9293 §3.1, RFC 7323, RFC 2018).
#include <doctest/doctest.h>

#include <vector>

#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::wire {
namespace {

using Buffer = std::vector<std::byte>;

Buffer bytes(std::initializer_list<unsigned> v) {
  Buffer b;
  for (unsigned x : v) { b.push_back(static_cast<std::byte>(x)); }
  return b;
}

constexpr Ipv4Addr kSrc = Ipv4Addr::from_octets(10, 0, 0, 1);
constexpr Ipv4Addr kDst = Ipv4Addr::from_octets(10, 0, 0, 2);

Buffer encoded(const TcpSegment& s) {
  Buffer out(header_len(s) + s.payload.size());
  CHECK(encode(s, kSrc, kDst, out) == out.size());
  return out;
}

TcpSegment decoded(const Buffer& b) {
  const auto view = TcpView::parse(b);
  REQUIRE(view.has_value());
  const auto seg = decode(*view);
  REQUIRE(seg.has_value());
  return *seg;
}

}  // namespace

TEST_SUITE("wire.tcp") {
  TEST_CASE("SeqNum compares across the 2^32 wrap") {
    const SeqNum near_end{0xfffffff0U};
    const SeqNum wrapped = near_end + 0x20;
    CHECK(wrapped.raw == 0x10U);
    CHECK(near_end < wrapped);
    CHECK(wrapped > near_end);
    CHECK(wrapped - near_end == 0x20);
    CHECK(near_end - wrapped == -0x20);
    CHECK(in_window(SeqNum{5}, near_end, 0x20));
    CHECK_FALSE(in_window(wrapped, near_end, 0x20));  // the end is exclusive
    CHECK_FALSE(in_window(SeqNum{0}, SeqNum{0}, 0));  // an empty window holds nothing
  }

  TEST_CASE("parse rejects short headers and data offsets outside 20..buffer") {
    for (std::size_t n = 0; n < kTcpMinHeaderLen; ++n) {
      const Buffer b(n);
      const auto v = TcpView::parse(b);
      REQUIRE_FALSE(v.has_value());
      CHECK(v.error() == Drop::TcpTruncated);
    }
    Buffer b(20);
    b[12] = std::byte{0x40};  // data offset 4 words = 16 bytes
    CHECK(TcpView::parse(b).error() == Drop::TcpBadDataOffset);
    b[12] = std::byte{0x60};  // 24 bytes in a 20-byte buffer
    CHECK(TcpView::parse(b).error() == Drop::TcpBadDataOffset);
    b.resize(24);
    CHECK(TcpView::parse(b).has_value());
  }

  TEST_CASE("a SYN with Linux's options round-trips and matches Linux's layout") {
    TcpSegment syn{.src_port = 51234,
                   .dst_port = 3333,
                   .seq = SeqNum{1000},
                   .flags = TcpFlags{TcpFlags::kSyn},
                   .window = 64240,
                   .options = {.mss = 1460,
                               .window_scale = 7,
                               .sack_permitted = true,
                               .timestamps = Timestamps{111, 0}}};
    const auto b = encoded(syn);
    CHECK(b.size() == 40);         // Linux's SYN: 20 + mss 4 + sackOK,TS 12 + nop,wscale 4
    CHECK(b[20] == std::byte{2});  // MSS first
    CHECK(b[24] == std::byte{4});  // SACK-permitted shares a word with the timestamps
    CHECK(verify_tcp_checksum(b, kSrc, kDst));
    const auto back = decoded(b);
    CHECK(back.src_port == 51234);
    CHECK(back.dst_port == 3333);
    CHECK(back.seq == SeqNum{1000});
    CHECK(back.flags == TcpFlags{TcpFlags::kSyn});
    CHECK(back.window == 64240);
    CHECK(back.options == syn.options);
    CHECK(back.seq_len() == 1);
  }

  TEST_CASE("payload, FIN and SACK blocks round-trip; blocks beyond 40 option bytes are cut") {
    const Buffer data = bytes({'h', 'e', 'l', 'l', 'o'});
    TcpSegment s{.src_port = 1,
                 .dst_port = 2,
                 .seq = SeqNum{7},
                 .ack = SeqNum{9},
                 .flags = TcpFlags{TcpFlags::kAck | TcpFlags::kFin | TcpFlags::kPsh},
                 .window = 100,
                 .payload = data};
    s.options.timestamps = Timestamps{5, 6};
    s.options.sack_count = 4;
    for (std::uint32_t i = 0; i < 4; ++i) {
      s.options.sack[i] = SackBlock{SeqNum{100 * (i + 1)}, SeqNum{100 * (i + 1) + 10}};
    }
    const auto b = encoded(s);
    CHECK(verify_tcp_checksum(b, kSrc, kDst));
    const auto back = decoded(b);
    CHECK(back.seq_len() == 6);
    CHECK(std::equal(back.payload.begin(), back.payload.end(), data.begin(), data.end()));
    CHECK(back.options.timestamps == Timestamps{5, 6});
    REQUIRE(back.options.sack_count == 3);  // 12 (TS) + 4 + 3 * 8 = 40
    for (std::size_t i = 0; i < 3; ++i) { CHECK(back.options.sack[i] == s.options.sack[i]); }
  }

  TEST_CASE("a pseudo-header-only checksum is what a device completes into the full one") {
    const Buffer data = bytes({'o', 'd', 'd'});  // an odd length, as the device must handle
    const TcpSegment s{.src_port = 80,
                       .dst_port = 8080,
                       .seq = SeqNum{1},
                       .flags = TcpFlags{TcpFlags::kAck},
                       .window = 1,
                       .payload = data};
    const Buffer full = encoded(s);
    Buffer partial(full.size());
    encode(s, kSrc, kDst, partial, TcpChecksum::PseudoHeaderOnly);
    CHECK(partial != full);
    CHECK_FALSE(verify_tcp_checksum(partial, kSrc, kDst));
    // What virtio-net's NEEDS_CSUM asks of the device: sum from the header on, starting from
    // the field's contents, and store the complement there.
    const std::uint16_t completed = checksum(partial);
    partial[kTcpChecksumOffset] = static_cast<std::byte>(completed >> 8);
    partial[kTcpChecksumOffset + 1] = static_cast<std::byte>(completed & 0xff);
    CHECK(partial == full);
  }

  TEST_CASE("the checksum catches a flipped bit and a wrong pseudo-header") {
    const TcpSegment s{.src_port = 80, .dst_port = 8080, .seq = SeqNum{1}, .window = 1};
    auto b = encoded(s);
    CHECK(verify_tcp_checksum(b, kSrc, kDst));
    CHECK_FALSE(verify_tcp_checksum(b, kSrc, Ipv4Addr::from_octets(10, 0, 0, 3)));
    b[4] ^= std::byte{0x01};
    CHECK_FALSE(verify_tcp_checksum(b, kSrc, kDst));
  }

  TEST_CASE("options: NOP and EOL padding, unknown kinds skipped") {
    const auto o = decode_options(bytes({1, 1, 30, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4, 0, 99}));
    REQUIRE(o.has_value());
    CHECK(o->mss == 1460);  // kind 30 skipped by its length; bytes after EOL ignored
    CHECK_FALSE(o->window_scale.has_value());
  }

  TEST_CASE("options that lie about their length are rejected, never over-read") {
    const std::vector<Buffer> bad = {
        bytes({2}),                    // kind without a length byte
        bytes({2, 4, 0x05}),           // MSS runs past the end
        bytes({2, 1}),                 // length below 2
        bytes({2, 3, 0x05}),           // MSS with the wrong length
        bytes({3, 4, 7, 0}),           // window scale with the wrong length
        bytes({4, 3, 0}),              // SACK-permitted with a body
        bytes({8, 6, 0, 0, 0, 0}),     // timestamps too short
        bytes({5, 2}),                 // SACK without blocks
        bytes({5, 7, 0, 0, 0, 0, 0}),  // SACK not a multiple of 8
        bytes({30, 200}),              // unknown kind running past the end
    };
    for (const auto& b : bad) {
      const auto o = decode_options(b);
      REQUIRE_FALSE(o.has_value());
      CHECK(o.error() == Drop::TcpBadOption);
    }
  }

  TEST_CASE("a segment whose options are malformed does not decode") {
    Buffer b(24);
    b[12] = std::byte{0x60};
    b[20] = std::byte{2};
    b[21] = std::byte{9};  // MSS claiming 9 bytes inside a 4-byte option area
    const auto v = TcpView::parse(b);
    REQUIRE(v.has_value());
    CHECK(decode(*v).error() == Drop::TcpBadOption);
  }

  TEST_CASE("ECE and CWR (RFC 3168 §6.1) decode; the IP codepoint is not the header's to carry") {
    TcpSegment s{.src_port = 1,
                 .dst_port = 2,
                 .seq = SeqNum{7},
                 .flags = TcpFlags{TcpFlags::kSyn | TcpFlags::kEce | TcpFlags::kCwr}};
    s.ecn = Ecn::Ce;  // ignored by encode(): it belongs to the IP header
    const TcpSegment d = decoded(encoded(s));
    CHECK(d.flags.ece());
    CHECK(d.flags.cwr());
    CHECK(d.flags.syn());
    CHECK(d.ecn == Ecn::NotEct);  // the stack fills it in from the IP header
    CHECK_FALSE(TcpFlags{TcpFlags::kAck}.ece());
    CHECK_FALSE(TcpFlags{TcpFlags::kAck}.cwr());
  }
}

}  // namespace tapsrv::wire
