// Ethernet II view and header writer; the big-endian helpers they rest on.
#include <doctest/doctest.h>

#include "support/frames.hpp"
#include "tapsrv/wire/bytes.hpp"
#include "tapsrv/wire/ethernet.hpp"

namespace tapsrv::wire {
namespace {

using test::Buffer;
using test::bytes;

TEST_SUITE("wire.ethernet") {
  TEST_CASE("big-endian loads and stores") {
    Buffer b = bytes({0x12, 0x34, 0x56, 0x78, 0x9a});
    CHECK(load_u8(b, 4) == 0x9a);
    CHECK(load_be16(b, 0) == 0x1234);
    CHECK(load_be16(b, 3) == 0x789a);
    CHECK(load_be32(b, 0) == 0x12345678U);
    CHECK(load_be32(b, 1) == 0x3456789aU);
    store_be16(b, 1, 0xbeef);
    CHECK(b == bytes({0x12, 0xbe, 0xef, 0x78, 0x9a}));
    store_be32(b, 1, 0xdeadc0deU);
    CHECK(b == bytes({0x12, 0xde, 0xad, 0xc0, 0xde}));
  }

  TEST_CASE("parse reads destination, source, type and payload") {
    const Buffer f = bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // dst
                            0x02, 0x00, 0x0a, 0x00, 0x00, 0x01,  // src
                            0x08, 0x06,                          // ARP
                            0xaa, 0xbb, 0xcc});
    const auto eth = EthernetView::parse(f);
    REQUIRE(eth.has_value());
    CHECK(eth->dst() == MacAddr::broadcast());
    CHECK(eth->src() == test::kPeerMac);
    CHECK(eth->ethertype() == ethertype::kArp);
    REQUIRE(eth->payload().size() == 3);
    CHECK(eth->payload().data() == f.data() + 14);  // a view, not a copy
    CHECK(eth->payload()[2] == std::byte{0xcc});
  }

  TEST_CASE("a bare 14-byte header parses with an empty payload") {
    const Buffer f = test::eth_frame(test::kOurMac, test::kPeerMac, ethertype::kIpv4, {});
    REQUIRE(f.size() == kEthHeaderLen);
    const auto eth = EthernetView::parse(f);
    REQUIRE(eth.has_value());
    CHECK(eth->payload().empty());
    CHECK(eth->ethertype() == ethertype::kIpv4);
  }

  TEST_CASE("every length below 14 is EthTruncated") {
    const Buffer full = test::eth_frame(test::kOurMac, test::kPeerMac, ethertype::kIpv4, {});
    for (std::size_t n = 0; n < kEthHeaderLen; ++n) {
      CAPTURE(n);
      const Buffer f = test::truncated(full, n);  // exact size: ASan sees any overread
      const auto eth = EthernetView::parse(f);
      REQUIRE_FALSE(eth.has_value());
      CHECK(eth.error() == Drop::EthTruncated);
    }
  }

  TEST_CASE("write_ethernet_header writes exactly 14 bytes and round-trips") {
    Buffer f(20, std::byte{0x5a});
    write_ethernet_header(f, test::kPeerMac, test::kOurMac, ethertype::kIpv6);
    CHECK(f == bytes({0x02, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00,
                      0x00, 0x02, 0x86, 0xdd, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a}));
    const auto eth = EthernetView::parse(f);
    REQUIRE(eth.has_value());
    CHECK(eth->dst() == test::kPeerMac);
    CHECK(eth->src() == test::kOurMac);
    CHECK(eth->ethertype() == ethertype::kIpv6);
    CHECK(eth->payload().size() == 6);
  }

  TEST_CASE("ethertype constants are the IEEE values") {
    CHECK(ethertype::kIpv4 == 0x0800);
    CHECK(ethertype::kArp == 0x0806);
    CHECK(ethertype::kVlan == 0x8100);
    CHECK(ethertype::kIpv6 == 0x86dd);
  }
}

}  // namespace
}  // namespace tapsrv::wire
