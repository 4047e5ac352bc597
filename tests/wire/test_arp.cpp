// ARP packet codec (RFC 826): Ethernet/IPv4 only, trailing padding ignored.
#include <doctest/doctest.h>

#include "support/frames.hpp"
#include "tapsrv/wire/arp.hpp"

namespace tapsrv::wire {
namespace {

using test::Buffer;
using test::bytes;

// A request as Linux sends it: who has 10.0.0.2? tell 10.0.0.1.
const Buffer kCapturedRequest = bytes({
    0x00, 0x01,                          // hardware: Ethernet
    0x08, 0x00,                          // protocol: IPv4
    0x06, 0x04,                          // lengths
    0x00, 0x01,                          // request
    0x02, 0x00, 0x0a, 0x00, 0x00, 0x01,  // sender MAC
    0x0a, 0x00, 0x00, 0x01,              // sender IP
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target MAC
    0x0a, 0x00, 0x00, 0x02,              // target IP
});

TEST_SUITE("wire.arp") {
  TEST_CASE("parses a captured request") {
    const auto p = parse_arp(kCapturedRequest);
    REQUIRE(p.has_value());
    CHECK(p->op == static_cast<std::uint16_t>(ArpOp::Request));
    CHECK(p->sender_mac == test::kPeerMac);
    CHECK(p->sender_ip == test::kPeerIp);
    CHECK(p->target_mac.is_zero());
    CHECK(p->target_ip == test::kOurIp);
  }

  TEST_CASE("write_arp produces the captured bytes and round-trips") {
    const ArpPacket p{.op = 1,
                      .sender_mac = test::kPeerMac,
                      .sender_ip = test::kPeerIp,
                      .target_mac = {},
                      .target_ip = test::kOurIp};
    CHECK(test::arp_packet(p) == kCapturedRequest);

    const ArpPacket reply{.op = 2,
                          .sender_mac = test::mac(0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee),
                          .sender_ip = test::ip(192, 168, 1, 254),
                          .target_mac = test::kOurMac,
                          .target_ip = test::ip(192, 168, 1, 1)};
    const auto parsed = parse_arp(test::arp_packet(reply));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == reply);
  }

  TEST_CASE("unknown operations parse; the link layer counts them") {
    Buffer b = kCapturedRequest;
    b[7] = std::byte{9};  // e.g. InARP request
    const auto p = parse_arp(b);
    REQUIRE(p.has_value());
    CHECK(p->op == 9);
  }

  TEST_CASE("trailing Ethernet padding is ignored") {
    const Buffer padded = test::concat(kCapturedRequest, Buffer(18));
    const auto p = parse_arp(padded);
    REQUIRE(p.has_value());
    CHECK(*p == *parse_arp(kCapturedRequest));
  }

  TEST_CASE("every length below 28 is ArpMalformed") {
    for (std::size_t n = 0; n < kArpLen; ++n) {
      CAPTURE(n);
      const Buffer b = test::truncated(kCapturedRequest, n);
      const auto p = parse_arp(b);
      REQUIRE_FALSE(p.has_value());
      CHECK(p.error() == Drop::ArpMalformed);
    }
  }

  TEST_CASE("other hardware or protocol types are ArpMalformed") {
    Buffer b = kCapturedRequest;
    SUBCASE("hardware type 6 (IEEE 802)") { b[1] = std::byte{6}; }
    SUBCASE("protocol IPv6") {
      b[2] = std::byte{0x86};
      b[3] = std::byte{0xdd};
    }
    SUBCASE("hardware length 8") { b[4] = std::byte{8}; }
    SUBCASE("protocol length 16") { b[5] = std::byte{16}; }
    const auto p = parse_arp(b);
    REQUIRE_FALSE(p.has_value());
    CHECK(p.error() == Drop::ArpMalformed);
  }
}

}  // namespace
}  // namespace tapsrv::wire
