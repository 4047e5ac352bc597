// IPv4 header view and writer (RFC 791, RFC 1122 §3.2.1): every rejection path, no overreads.
#include <doctest/doctest.h>

#include "support/frames.hpp"
#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/ipv4.hpp"

namespace tapsrv::wire {
namespace {

using test::Buffer;
using test::bytes;
using test::Ipv4Spec;

// 192.168.0.1 → 192.168.0.199, UDP, total length 0x73: a header from a real capture.
const Buffer kCapturedHeader = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                      0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});

Drop parse_error(const Buffer& b) {
  const auto v = Ipv4View::parse(b);
  REQUIRE_FALSE(v.has_value());
  return v.error();
}

TEST_SUITE("wire.ipv4") {
  TEST_CASE("parses a captured header") {
    const Buffer packet = test::concat(kCapturedHeader, test::pattern(0x73 - 20));
    const auto v = Ipv4View::parse(packet);
    REQUIRE(v.has_value());
    CHECK(v->header_len() == 20);
    CHECK(v->tos() == 0);
    CHECK(v->total_len() == 0x73);
    CHECK(v->ident() == 0);
    CHECK(v->dont_fragment());
    CHECK_FALSE(v->more_fragments());
    CHECK(v->fragment_offset() == 0);
    CHECK_FALSE(v->is_fragment());
    CHECK(v->ttl() == 64);
    CHECK(v->protocol() == ip_proto::kUdp);
    CHECK(v->src() == test::ip(192, 168, 0, 1));
    CHECK(v->dst() == test::ip(192, 168, 0, 199));
    CHECK(v->packet().size() == 0x73);
    CHECK(v->payload().size() == 0x73 - 20);
    CHECK(v->payload().data() == packet.data() + 20);
  }

  TEST_CASE("write_ipv4_header: field layout and a valid checksum") {
    Buffer b(20 + 8);
    write_ipv4_header(b, Ipv4Header{.src = test::ip(192, 168, 0, 1),
                                    .dst = test::ip(192, 168, 0, 199),
                                    .protocol = ip_proto::kUdp,
                                    .ttl = 64,
                                    .tos = 0,
                                    .ident = 0,
                                    .dont_fragment = true,
                                    .payload_len = 0x73 - 20});
    // Same fields as the capture, so the same bytes, checksum included.
    CHECK(test::truncated(b, 20) == kCapturedHeader);
    CHECK(checksum(Bytes{b}.first(20)) == 0);

    write_ipv4_header(b, Ipv4Header{.src = test::kOurIp,
                                    .dst = test::kPeerIp,
                                    .protocol = ip_proto::kIcmp,
                                    .ttl = 1,
                                    .tos = 0xb8,
                                    .ident = 0xbeef,
                                    .dont_fragment = false,
                                    .payload_len = 8});
    const auto v = Ipv4View::parse(b);
    REQUIRE(v.has_value());
    CHECK(v->header_len() == 20);
    CHECK(v->total_len() == 28);
    CHECK(v->tos() == 0xb8);
    CHECK(v->ident() == 0xbeef);
    CHECK_FALSE(v->dont_fragment());
    CHECK(v->ttl() == 1);
    CHECK(v->protocol() == ip_proto::kIcmp);
    CHECK(v->src() == test::kOurIp);
    CHECK(v->dst() == test::kPeerIp);
    CHECK(b[6] == std::byte{0});
    CHECK(b[7] == std::byte{0});
  }

  TEST_CASE("round trip through the builder for several payload sizes") {
    for (std::size_t n : {0U, 1U, 8U, 63U, 1480U}) {
      CAPTURE(n);
      const Buffer payload = test::pattern(n, 3);
      const Buffer packet = test::ipv4_packet({}, payload);
      const auto v = Ipv4View::parse(packet);
      REQUIRE(v.has_value());
      CHECK(v->total_len() == 20 + n);
      CHECK(Buffer(v->payload().begin(), v->payload().end()) == payload);
    }
  }

  TEST_CASE("every length below 20 is Ipv4Truncated") {
    const Buffer full = test::ipv4_packet({}, {});
    for (std::size_t n = 0; n < kIpv4MinHeaderLen; ++n) {
      CAPTURE(n);
      CHECK(parse_error(test::truncated(full, n)) == Drop::Ipv4Truncated);
    }
  }

  TEST_CASE("a packet cut short after the header is Ipv4BadTotalLen at every length") {
    const Buffer full = test::ipv4_packet({}, test::pattern(40));
    for (std::size_t n = kIpv4MinHeaderLen; n < full.size(); ++n) {
      CAPTURE(n);
      CHECK(parse_error(test::truncated(full, n)) == Drop::Ipv4BadTotalLen);
    }
  }

  TEST_CASE("versions other than 4 are Ipv4BadVersion") {
    for (std::uint8_t version : {0, 1, 5, 6, 15}) {
      CAPTURE(version);
      Ipv4Spec s;
      s.version = version;
      CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadVersion);
    }
  }

  TEST_CASE("IHL below 5 is Ipv4BadHeaderLen") {
    for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
      CAPTURE(ihl);
      Ipv4Spec s;
      s.ihl = ihl;
      CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadHeaderLen);
    }
  }

  TEST_CASE("IHL beyond the total length or the buffer is rejected without reading past it") {
    SUBCASE("IHL 15 (60 bytes), total length honest at 28") {
      // The header claims more than the packet: RFC 791 total length < header length.
      Ipv4Spec s;
      s.ihl = 15;
      CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadHeaderLen);
    }
    SUBCASE("IHL 15, total length 60, but only 28 bytes arrived") {
      Ipv4Spec s;
      s.ihl = 15;
      s.total_len = 60;
      CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadTotalLen);
    }
    SUBCASE("IHL 6 on a bare 20-byte header") {
      Ipv4Spec s;
      s.ihl = 6;
      CHECK(parse_error(test::ipv4_packet(s, {})) == Drop::Ipv4BadHeaderLen);
    }
  }

  TEST_CASE("total length below the header length is Ipv4BadHeaderLen") {
    // Pinned as implemented: Linux's ip_rcv_core() also counts this as a header error.
    for (std::uint16_t total : {0, 1, 19}) {
      CAPTURE(total);
      Ipv4Spec s;
      s.total_len = total;
      CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadHeaderLen);
    }
    Ipv4Spec with_options;
    with_options.options = Buffer(8, std::byte{1});  // 8 NOPs: header 28 bytes
    with_options.total_len = 24;
    CHECK(parse_error(test::ipv4_packet(with_options, test::pattern(8))) == Drop::Ipv4BadHeaderLen);
  }

  TEST_CASE("total length beyond the buffer is Ipv4BadTotalLen") {
    for (std::uint16_t total : {29, 100, 65535}) {
      CAPTURE(total);
      Ipv4Spec s;
      s.total_len = total;
      CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadTotalLen);
    }
  }

  TEST_CASE("a wrong header checksum is Ipv4BadChecksum") {
    Ipv4Spec s;
    s.bad_checksum = true;
    CHECK(parse_error(test::ipv4_packet(s, test::pattern(8))) == Drop::Ipv4BadChecksum);

    // Any single flipped header bit outside version/IHL/total length breaks the sum.
    const Buffer good = test::ipv4_packet({}, test::pattern(8));
    for (std::size_t byte : {1U, 4U, 5U, 6U, 8U, 9U, 11U, 12U, 19U}) {
      CAPTURE(byte);
      Buffer b = good;
      b[byte] ^= std::byte{0x04};
      CHECK(parse_error(b) == Drop::Ipv4BadChecksum);
    }
  }

  TEST_CASE("the checksum covers options but not the payload") {
    Ipv4Spec s;
    s.options = bytes({0x01, 0x01, 0x01, 0x00});  // NOP NOP NOP EOL
    Buffer b = test::ipv4_packet(s, test::pattern(8));
    REQUIRE(Ipv4View::parse(b).has_value());

    Buffer payload_flip = b;
    payload_flip[24] ^= std::byte{0xff};
    CHECK(Ipv4View::parse(payload_flip).has_value());

    Buffer option_flip = b;
    option_flip[21] ^= std::byte{0xff};
    CHECK(parse_error(option_flip) == Drop::Ipv4BadChecksum);
  }

  TEST_CASE("options are skipped: payload starts after IHL*4") {
    for (std::size_t words = 1; words <= 10; ++words) {
      CAPTURE(words);
      Ipv4Spec s;
      s.options = Buffer(words * 4, std::byte{0x01});
      const Buffer payload = test::pattern(12);
      const Buffer b = test::ipv4_packet(s, payload);
      const auto v = Ipv4View::parse(b);
      REQUIRE(v.has_value());
      CHECK(v->header_len() == 20 + words * 4);
      CHECK(Buffer(v->payload().begin(), v->payload().end()) == payload);
    }
  }

  TEST_CASE("Ethernet padding beyond the total length is excluded from the view") {
    Ipv4Spec s;
    s.padding = 26;  // a 20-byte packet padded to the 46-byte Ethernet minimum
    const Buffer b = test::ipv4_packet(s, {});
    REQUIRE(b.size() == 46);
    const auto v = Ipv4View::parse(b);
    REQUIRE(v.has_value());
    CHECK(v->packet().size() == 20);
    CHECK(v->payload().empty());

    Ipv4Spec t;
    t.padding = 3;
    const Buffer c = test::ipv4_packet(t, test::pattern(5));
    const auto w = Ipv4View::parse(c);
    REQUIRE(w.has_value());
    CHECK(w->payload().size() == 5);
    CHECK(w->packet().data() == c.data());
  }

  TEST_CASE("fragment fields") {
    Ipv4Spec s;
    s.dont_fragment = false;
    SUBCASE("first fragment: MF set, offset 0") {
      s.more_fragments = true;
      const Buffer b = test::ipv4_packet(s, test::pattern(16));
      const auto v = Ipv4View::parse(b);
      REQUIRE(v.has_value());
      CHECK(v->more_fragments());
      CHECK_FALSE(v->dont_fragment());
      CHECK(v->fragment_offset() == 0);
      CHECK(v->is_fragment());
    }
    SUBCASE("last fragment: MF clear, offset 185 units = 1480 bytes") {
      s.fragment_offset_units = 185;
      const Buffer b = test::ipv4_packet(s, test::pattern(16));
      const auto v = Ipv4View::parse(b);
      REQUIRE(v.has_value());
      CHECK_FALSE(v->more_fragments());
      CHECK(v->fragment_offset() == 1480);
      CHECK(v->is_fragment());
    }
    SUBCASE("largest offset: 0x1fff units") {
      s.fragment_offset_units = 0x1fff;
      s.more_fragments = true;
      const Buffer b = test::ipv4_packet(s, test::pattern(16));
      const auto v = Ipv4View::parse(b);
      REQUIRE(v.has_value());
      CHECK(v->fragment_offset() == 0x1fffU * 8);
      CHECK(v->more_fragments());
    }
    SUBCASE("DF alone is not a fragment") {
      s.dont_fragment = true;
      const Buffer b = test::ipv4_packet(s, test::pattern(16));
      const auto v = Ipv4View::parse(b);
      REQUIRE(v.has_value());
      CHECK(v->dont_fragment());
      CHECK_FALSE(v->is_fragment());
    }
  }

  TEST_CASE("a maximal 65535-byte packet parses") {
    const Buffer b = test::ipv4_packet({}, test::pattern(65535 - 20));
    const auto v = Ipv4View::parse(b);
    REQUIRE(v.has_value());
    CHECK(v->total_len() == 65535);
    CHECK(v->payload().size() == 65515);
  }

  TEST_CASE("ECN (RFC 3168 §5): the view reads the two low TOS bits; the writer sets them") {
    const std::pair<Ecn, std::uint8_t> codepoints[] = {
        {Ecn::NotEct, 0}, {Ecn::Ect1, 1}, {Ecn::Ect0, 2}, {Ecn::Ce, 3}};
    for (const auto& codepoint : codepoints) {
      // Named copies, not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
      const Ecn ecn = codepoint.first;
      const std::uint8_t bits = codepoint.second;
      CAPTURE(static_cast<int>(ecn));
      for (const std::uint8_t tos : {0x00, 0xb8, 0xff}) {
        CAPTURE(tos);
        Buffer b(20);
        write_ipv4_header(b, Ipv4Header{.src = test::ip(10, 0, 0, 2),
                                        .dst = test::ip(10, 0, 0, 1),
                                        .protocol = ip_proto::kTcp,
                                        .tos = tos,
                                        .ecn = ecn});
        // The DSCP comes from `tos`; its ECN bits never leak into the header, `ecn` decides.
        CHECK(std::to_integer<std::uint8_t>(b[1]) == ((tos & 0xfc) | bits));
        const auto v = Ipv4View::parse(b);
        REQUIRE(v.has_value());
        CHECK(v->ecn() == ecn);
      }
    }
  }

  TEST_CASE("a header written without an ECN codepoint is Not-ECT") {
    Buffer b(20);
    write_ipv4_header(b, Ipv4Header{.src = test::ip(10, 0, 0, 2), .dst = test::ip(10, 0, 0, 1)});
    CHECK(std::to_integer<std::uint8_t>(b[1]) == 0);
  }
}

}  // namespace
}  // namespace tapsrv::wire
