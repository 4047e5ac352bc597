// IPv4 input checks and output routing through the whole stack (RFC 791, RFC 1122 §3.2.1).
#include <doctest/doctest.h>

#include <chrono>

#include "support/frames.hpp"
#include "support/stack_harness.hpp"
#include "tapsrv/wire/arp.hpp"
#include "tapsrv/wire/icmpv4.hpp"

namespace tapsrv::ip {
namespace {

using namespace std::chrono_literals;
using test::Buffer;
using test::decode_icmp;
using test::decode_ipv4;
using test::drops_between;
using test::events_between;
using test::ip;
using test::Ipv4Spec;
using test::kOurIp;
using test::kOurMac;
using test::kPeerIp;
using test::kPeerMac;
using test::StackHarness;

const wire::MacAddr kGatewayMac = test::mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0xfe);
const wire::Ipv4Addr kGatewayIp = ip(10, 0, 0, 254);
const wire::Ipv4Addr kRemoteIp = ip(192, 0, 2, 33);  // TEST-NET-1, off our /24

Buffer ping_frame(const Ipv4Spec& s, std::uint16_t seq = 1) {
  return test::ipv4_frame(s, test::echo_request(0x77, seq, test::pattern(16)));
}

// Feeds one frame and returns the drops it caused; nothing must be sent in answer.
std::string drops_of(StackHarness& h, const Buffer& frame) {
  const Stats before = h.stats;
  h.receive(frame);
  CHECK(h.drain().empty());
  CHECK(events_between(before, h.stats).empty());
  return drops_between(before, h.stats);
}

TEST_SUITE("ip.ipv4") {
  TEST_CASE("malformed headers are counted by reason and never answered") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Buffer icmp = test::echo_request(1, 1, test::pattern(8));
    Ipv4Spec s;
    SUBCASE("truncated") {
      const Buffer good = test::ipv4_packet({}, icmp);
      for (std::size_t n = 0; n < 20; ++n) {
        CAPTURE(n);
        const Buffer f =
            test::eth_frame(kOurMac, kPeerMac, wire::ethertype::kIpv4, test::truncated(good, n));
        CHECK(drops_of(h, f) == "ipv4_truncated+1");
      }
    }
    SUBCASE("version 6 in an IPv4 ethertype") {
      s.version = 6;
      CHECK(drops_of(h, test::ipv4_frame(s, icmp)) == "ipv4_bad_version+1");
    }
    SUBCASE("IHL 4") {
      s.ihl = 4;
      CHECK(drops_of(h, test::ipv4_frame(s, icmp)) == "ipv4_bad_header_len+1");
    }
    SUBCASE("IHL beyond the packet") {
      s.ihl = 15;
      CHECK(drops_of(h, test::ipv4_frame(s, icmp)) == "ipv4_bad_header_len+1");
    }
    SUBCASE("total length below 20") {
      s.total_len = 19;
      CHECK(drops_of(h, test::ipv4_frame(s, icmp)) == "ipv4_bad_header_len+1");
    }
    SUBCASE("total length beyond the frame") {
      s.total_len = 200;
      CHECK(drops_of(h, test::ipv4_frame(s, icmp)) == "ipv4_bad_total_len+1");
    }
    SUBCASE("bad header checksum") {
      s.bad_checksum = true;
      CHECK(drops_of(h, test::ipv4_frame(s, icmp)) == "ipv4_bad_checksum+1");
    }
  }

  TEST_CASE("datagrams from addresses that cannot be a host are dropped (RFC 1122 §3.2.1.3)") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const wire::Ipv4Addr bad[] = {
        wire::Ipv4Addr{},        // 0.0.0.0
        ip(127, 0, 0, 1),        // loopback
        ip(127, 255, 255, 254),  // loopback
        ip(224, 0, 0, 1),        // multicast
        ip(239, 1, 2, 3),        // multicast
        ip(255, 255, 255, 255),  // limited broadcast
        ip(10, 0, 0, 255),       // our subnet's broadcast
        kOurIp,                  // ourselves: a loop or a spoof
    };
    for (const auto src : bad) {
      CAPTURE(src.value);
      Ipv4Spec s;
      s.src = src;
      CHECK(drops_of(h, ping_frame(s)) == "ipv4_bad_source+1");
    }
  }

  TEST_CASE("the subnet broadcast is judged by our prefix: on a /31 it is a host (RFC 3021)") {
    auto cfg = test::default_stack_config();
    cfg.address = wire::Ipv4Subnet{ip(10, 0, 0, 0), 31};
    StackHarness h{cfg};
    h.receive(test::arp_request(kPeerMac, ip(10, 0, 0, 1), ip(10, 0, 0, 0)));
    h.drain();
    const Stats before = h.stats;
    Ipv4Spec s;
    s.src = ip(10, 0, 0, 1);
    s.dst = ip(10, 0, 0, 0);
    h.receive(ping_frame(s));
    CHECK(h.drain().size() == 1);
    CHECK(events_between(before, h.stats) == "icmp_echo_replies+1");
    CHECK(drops_between(before, h.stats).empty());
  }

  TEST_CASE("a source in another subnet's broadcast position is a host for us") {
    // 10.0.1.255 is a broadcast only on 10.0.1.0/24, which we cannot know; Linux accepts it.
    auto cfg = test::default_stack_config();
    cfg.gateway = kGatewayIp;
    StackHarness h{cfg};
    h.learn(kGatewayIp, kGatewayMac);
    Ipv4Spec s;
    s.src = ip(10, 0, 1, 255);
    h.receive(ping_frame(s));
    CHECK(h.drain().size() == 1);
    CHECK(drops_between({}, h.stats).empty());
  }

  TEST_CASE("datagrams for other destinations are counted Ipv4NotForUs") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    for (const auto dst : {ip(10, 0, 0, 3), ip(10, 0, 0, 255), ip(255, 255, 255, 255),
                           ip(224, 0, 0, 1), kRemoteIp, wire::Ipv4Addr{}}) {
      Ipv4Spec s;
      s.dst = dst;
      CHECK(drops_of(h, ping_frame(s)) == "ipv4_not_for_us+1");
      Ipv4Spec u = s;
      u.protocol = wire::ip_proto::kUdp;  // and no port unreachable about them either
      CHECK(drops_of(h, test::ipv4_frame(u, test::pattern(8))) == "ipv4_not_for_us+1");
    }
  }

  TEST_CASE("fragments are dropped and counted, whatever they carry") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Ipv4Spec s;
    s.dont_fragment = false;
    SUBCASE("first fragment") { s.more_fragments = true; }
    SUBCASE("middle fragment") {
      s.more_fragments = true;
      s.fragment_offset_units = 2;
    }
    SUBCASE("last fragment") { s.fragment_offset_units = 185; }
    CHECK(drops_of(h, ping_frame(s)) == "ipv4_fragment+1");
    s.protocol = wire::ip_proto::kUdp;
    CHECK(drops_of(h, test::ipv4_frame(s, test::pattern(8))) == "ipv4_fragment+1");
    s.protocol = 253;
    CHECK(drops_of(h, test::ipv4_frame(s, test::pattern(8))) == "ipv4_fragment+1");
  }

  TEST_CASE("DF alone, any TTL and padding are all acceptable on input") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Ipv4Spec s;
    SUBCASE("DF clear") { s.dont_fragment = false; }
    SUBCASE("TTL 1") { s.ttl = 1; }
    SUBCASE("TTL 0: a host does not check it (RFC 1122 §3.2.1.7 is for forwarding)") { s.ttl = 0; }
    SUBCASE("padding") { s.padding = 100; }
    const Stats before = h.stats;
    h.receive(ping_frame(s));
    CHECK(h.drain().size() == 1);
    CHECK(events_between(before, h.stats) == "icmp_echo_replies+1");
    CHECK(drops_between(before, h.stats).empty());
  }

  TEST_CASE("output header: our address, TTL 64, no DF, valid checksum") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Ipv4Spec s;
    s.ttl = 3;
    h.receive(ping_frame(s));
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto out = decode_ipv4(sent[0]);  // REQUIREs a valid header checksum
    CHECK(out.ip.src() == kOurIp);
    CHECK(out.ip.dst() == kPeerIp);
    CHECK(out.ip.ttl() == 64);
    CHECK_FALSE(out.ip.dont_fragment());
    CHECK_FALSE(out.ip.is_fragment());
    CHECK(out.ip.header_len() == 20);
  }

  TEST_CASE("off-subnet destinations go through the gateway") {
    auto cfg = test::default_stack_config();
    cfg.gateway = kGatewayIp;
    StackHarness h{cfg};
    Ipv4Spec s;
    s.src = kRemoteIp;

    // The gateway's MAC is unknown: we ask for the gateway, not for the remote host.
    h.receive(ping_frame(s));
    auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto eth = wire::EthernetView::parse(sent[0]);
    REQUIRE(eth.has_value());
    const auto arp = wire::parse_arp(eth->payload());
    REQUIRE(arp.has_value());
    CHECK(arp->target_ip == kGatewayIp);

    h.receive(test::arp_reply(kGatewayMac, kGatewayIp));
    sent = h.drain();
    REQUIRE(sent.size() == 1);
    auto out = decode_ipv4(sent[0]);
    CHECK(out.eth.dst() == kGatewayMac);
    CHECK(out.ip.dst() == kRemoteIp);  // the IP destination stays the remote host

    // On-link destinations still go direct even with a gateway.
    h.learn(kPeerIp, kPeerMac);
    h.receive(ping_frame({}));
    sent = h.drain();
    REQUIRE(sent.size() == 1);
    out = decode_ipv4(sent[0]);
    CHECK(out.eth.dst() == kPeerMac);
    CHECK(out.ip.dst() == kPeerIp);
    CHECK(drops_between({}, h.stats).empty());
    CHECK(h.stats.get(Counter::IcmpEchoReplies) == 2);
  }

  TEST_CASE("without a gateway an off-subnet reply has no route: Ipv4NoRoute") {
    StackHarness h;
    Ipv4Spec s;
    s.src = kRemoteIp;
    CHECK(drops_of(h, ping_frame(s)) == "ipv4_no_route+1");
    CHECK(h.stack.link().neighbors().pending_count() == 0);  // nothing parked either

    // An ICMP error that cannot be routed: the datagram's own drop plus the route failure.
    s.protocol = wire::ip_proto::kUdp;
    CHECK(drops_of(h, test::ipv4_frame(s, test::pattern(8))) ==
          "udp_no_listener+1 ipv4_no_route+1");
  }
}

}  // namespace
}  // namespace tapsrv::ip
