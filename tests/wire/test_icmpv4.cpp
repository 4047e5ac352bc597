// ICMPv4 view and writer (RFC 792): checksum over the whole message, error classification.
#include <doctest/doctest.h>

#include "support/frames.hpp"
#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/icmpv4.hpp"

namespace tapsrv::wire {
namespace {

using test::Buffer;
using test::bytes;

TEST_SUITE("wire.icmpv4") {
  TEST_CASE("known answers: empty echo request and reply") {
    // 08 00 | 00 00 | 00 00 00 00 sums to 0x0800, so the checksum is 0xf7ff.
    CHECK(test::echo_request(0, 0, {}) == bytes({0x08, 0x00, 0xf7, 0xff, 0, 0, 0, 0}));
    // An all-zero reply sums to 0 and takes 0xffff, never 0x0000 (RFC 1071 keeps it nonzero).
    Buffer reply(8);
    CHECK(write_icmp(reply, icmp_type::kEchoReply, 0, 0, {}) == 8);
    CHECK(reply == bytes({0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0}));
  }

  TEST_CASE("a captured ping verifies") {
    // Linux ping: id 0x0c1d, seq 1, 8 bytes of timestamp-like data.
    Buffer m = bytes({0x08, 0x00, 0x00, 0x00, 0x0c, 0x1d, 0x00, 0x01, 0x61, 0x62, 0x63, 0x64, 0x65,
                      0x66, 0x67, 0x68});
    const auto c = checksum(m);
    store_be16(m, 2, c);
    const auto v = IcmpView::parse(m);
    REQUIRE(v.has_value());
    CHECK(v->type() == icmp_type::kEchoRequest);
    CHECK(v->code() == 0);
    CHECK(v->rest_of_header() == 0x0c1d0001U);
    CHECK(v->body().size() == 8);
    CHECK(v->body().data() == m.data() + 8);
    CHECK(test::echo_request(0x0c1d, 1, test::truncated(Bytes{m}.subspan(8), 8)) == m);
  }

  TEST_CASE("write_icmp round-trips for even and odd bodies") {
    for (std::size_t n : {0U, 1U, 2U, 55U, 56U, 1472U}) {
      CAPTURE(n);
      const Buffer body = test::pattern(n, 9);
      Buffer out(kIcmpHeaderLen + n + 5, std::byte{0xee});  // room to spare
      const auto len =
          write_icmp(out, icmp_type::kDestUnreachable, unreachable_code::kPort, 0x00000000, body);
      CHECK(len == kIcmpHeaderLen + n);
      CHECK(out[len] == std::byte{0xee});  // nothing written past the message
      const auto v = IcmpView::parse(Bytes{out}.first(len));
      REQUIRE(v.has_value());
      CHECK(v->type() == icmp_type::kDestUnreachable);
      CHECK(v->code() == unreachable_code::kPort);
      CHECK(v->rest_of_header() == 0);
      CHECK(Buffer(v->body().begin(), v->body().end()) == body);
    }
  }

  TEST_CASE("every length below 8 is IcmpTruncated") {
    const Buffer full = test::echo_request(1, 2, {});
    for (std::size_t n = 0; n < kIcmpHeaderLen; ++n) {
      CAPTURE(n);
      const auto v = IcmpView::parse(test::truncated(full, n));
      REQUIRE_FALSE(v.has_value());
      CHECK(v.error() == Drop::IcmpTruncated);
    }
  }

  TEST_CASE("a wrong checksum is IcmpBadChecksum, also when the body is damaged") {
    SUBCASE("checksum field") {
      const auto v = IcmpView::parse(
          test::icmp_message(icmp_type::kEchoRequest, 0, 0x00010001, test::pattern(4), true));
      REQUIRE_FALSE(v.has_value());
      CHECK(v.error() == Drop::IcmpBadChecksum);
    }
    SUBCASE("one body byte, odd position") {
      Buffer m = test::echo_request(1, 1, test::pattern(9));
      m[16] ^= std::byte{0x01};
      const auto v = IcmpView::parse(m);
      REQUIRE_FALSE(v.has_value());
      CHECK(v.error() == Drop::IcmpBadChecksum);
    }
    SUBCASE("a dropped trailing byte") {
      const Buffer m = test::echo_request(1, 1, test::pattern(9));
      const auto v = IcmpView::parse(test::truncated(m, m.size() - 1));
      REQUIRE_FALSE(v.has_value());
      CHECK(v.error() == Drop::IcmpBadChecksum);
    }
  }

  TEST_CASE("is_error: the five RFC 792 error types and no others") {
    for (unsigned t = 0; t < 256; ++t) {
      CAPTURE(t);
      const auto m = test::icmp_message(static_cast<std::uint8_t>(t), 0, 0, {});
      const auto v = IcmpView::parse(m);
      REQUIRE(v.has_value());
      const bool expected = t == 3 || t == 4 || t == 5 || t == 11 || t == 12;
      CHECK(v->is_error() == expected);
    }
  }
}

}  // namespace
}  // namespace tapsrv::wire
