// MAC and IPv4 address values: classification, subnets (RFC 3021 for /31 and /32), text form.
#include <doctest/doctest.h>

#include <string>

#include "support/frames.hpp"
#include "tapsrv/wire/addresses.hpp"

namespace tapsrv::wire {
namespace {

using test::ip;
using test::mac;

std::string text(Ipv4Addr a) { return std::string{to_text(a).view()}; }
std::string text(MacAddr m) { return std::string{to_text(m).view()}; }

TEST_SUITE("wire.addresses") {
  TEST_CASE("MAC classification") {
    CHECK(MacAddr::broadcast().is_broadcast());
    CHECK(MacAddr::broadcast().is_multicast());  // broadcast is a group address too
    CHECK_FALSE(MacAddr::broadcast().is_zero());
    CHECK(MacAddr{}.is_zero());
    CHECK_FALSE(MacAddr{}.is_multicast());
    CHECK(mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01).is_multicast());
    CHECK_FALSE(mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01).is_broadcast());
    CHECK(mac(0x33, 0x33, 0, 0, 0, 1).is_multicast());  // IPv6 multicast
    CHECK_FALSE(test::kOurMac.is_multicast());          // 0x02: local, unicast
    CHECK_FALSE(mac(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff).is_multicast());
    CHECK(mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xfe).is_multicast());
    CHECK_FALSE(mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xfe).is_broadcast());
  }

  TEST_CASE("MAC from and write_to round-trip through bytes") {
    const test::Buffer b = test::bytes({0x02, 0x11, 0x22, 0x33, 0x44, 0x55});
    const auto m = MacAddr::from(b);
    CHECK(m == mac(0x02, 0x11, 0x22, 0x33, 0x44, 0x55));
    test::Buffer out(6);
    m.write_to(out);
    CHECK(out == b);
  }

  TEST_CASE("IPv4 classification") {
    CHECK(Ipv4Addr{}.is_unspecified());
    CHECK(ip(255, 255, 255, 255).is_limited_broadcast());
    CHECK_FALSE(ip(255, 255, 255, 254).is_limited_broadcast());
    CHECK(ip(224, 0, 0, 1).is_multicast());
    CHECK(ip(239, 255, 255, 255).is_multicast());
    CHECK_FALSE(ip(223, 255, 255, 255).is_multicast());
    CHECK_FALSE(ip(240, 0, 0, 1).is_multicast());
    CHECK(ip(127, 0, 0, 1).is_loopback());
    CHECK(ip(127, 255, 255, 254).is_loopback());
    CHECK_FALSE(ip(128, 0, 0, 1).is_loopback());
    CHECK(ip(10, 0, 0, 2).value == 0x0a000002U);
  }

  TEST_CASE("subnet arithmetic for /24") {
    const Ipv4Subnet s{ip(10, 0, 0, 2), 24};
    CHECK(s.mask() == 0xffffff00U);
    CHECK(s.network() == ip(10, 0, 0, 0));
    CHECK(s.broadcast() == ip(10, 0, 0, 255));
    CHECK(s.contains(ip(10, 0, 0, 0)));
    CHECK(s.contains(ip(10, 0, 0, 255)));
    CHECK_FALSE(s.contains(ip(10, 0, 1, 0)));
    CHECK_FALSE(s.contains(ip(9, 255, 255, 255)));
    CHECK(s.is_directed_broadcast(ip(10, 0, 0, 255)));
    CHECK_FALSE(s.is_directed_broadcast(ip(10, 0, 0, 254)));
  }

  TEST_CASE("prefix lengths 0, 1, 31, 32") {
    const Ipv4Subnet all{ip(10, 0, 0, 2), 0};
    CHECK(all.mask() == 0);  // no shift by 32, which would be undefined
    CHECK(all.contains(ip(255, 255, 255, 255)));
    CHECK(all.network() == Ipv4Addr{});
    CHECK(all.broadcast() == ip(255, 255, 255, 255));

    const Ipv4Subnet half{ip(10, 0, 0, 2), 1};
    CHECK(half.mask() == 0x80000000U);
    CHECK(half.contains(ip(127, 0, 0, 1)));
    CHECK_FALSE(half.contains(ip(128, 0, 0, 1)));

    // RFC 3021: a /31 has two hosts and no broadcast address.
    const Ipv4Subnet p2p{ip(10, 0, 0, 1), 31};
    CHECK(p2p.network() == ip(10, 0, 0, 0));
    CHECK(p2p.broadcast() == ip(10, 0, 0, 1));
    CHECK_FALSE(p2p.is_directed_broadcast(ip(10, 0, 0, 1)));
    CHECK(p2p.contains(ip(10, 0, 0, 0)));
    CHECK_FALSE(p2p.contains(ip(10, 0, 0, 2)));

    const Ipv4Subnet host{ip(10, 0, 0, 7), 32};
    CHECK(host.mask() == 0xffffffffU);
    CHECK(host.contains(ip(10, 0, 0, 7)));
    CHECK_FALSE(host.contains(ip(10, 0, 0, 6)));
    CHECK_FALSE(host.is_directed_broadcast(ip(10, 0, 0, 7)));
  }

  TEST_CASE("to_text") {
    CHECK(text(ip(10, 0, 0, 2)) == "10.0.0.2");
    CHECK(text(Ipv4Addr{}) == "0.0.0.0");
    CHECK(text(ip(255, 255, 255, 255)) == "255.255.255.255");  // the longest form, 15 chars
    CHECK(text(ip(192, 168, 100, 9)) == "192.168.100.9");
    CHECK(text(test::kOurMac) == "02:00:0a:00:00:02");
    CHECK(text(MacAddr::broadcast()) == "ff:ff:ff:ff:ff:ff");
    CHECK(text(mac(0xab, 0xcd, 0xef, 0x01, 0x23, 0x45)) == "ab:cd:ef:01:23:45");
    CHECK(text(MacAddr{}) == "00:00:00:00:00:00");
  }
}

}  // namespace
}  // namespace tapsrv::wire
