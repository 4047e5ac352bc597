// ICMP through the whole stack: echo (RFC 792, RFC 1122 §3.2.2.6) and destination unreachable
// (RFC 1122 §3.2.2.1, RFC 1812 §4.3.2.3 size, rate limit as Linux's icmp_msgs_per_sec/_burst).
#include <doctest/doctest.h>

#include <chrono>

#include "support/frames.hpp"
#include "support/stack_harness.hpp"
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
using test::to_buffer;

constexpr std::uint8_t kUnknownProtocol = 253;  // RFC 3692 experimental

Buffer ping(std::uint16_t id, std::uint16_t seq, const Buffer& data, Ipv4Spec s = {}) {
  s.protocol = wire::ip_proto::kIcmp;
  return test::ipv4_frame(s, test::echo_request(id, seq, data));
}

Buffer udp_frame(Ipv4Spec s = {}, std::size_t payload = 12) {
  s.protocol = wire::ip_proto::kUdp;
  return test::ipv4_frame(s, test::pattern(payload, 5));
}

// Checks the destination unreachable in `frame` about `original` (an IPv4 packet).
void check_unreachable(const Buffer& frame, std::uint8_t code, wire::Bytes original) {
  const auto out = decode_ipv4(frame);
  CHECK(out.eth.dst() == kPeerMac);
  CHECK(out.eth.src() == kOurMac);
  CHECK(out.ip.src() == kOurIp);
  CHECK(out.ip.dst() == kPeerIp);
  CHECK(out.ip.tos() == 0);
  CHECK(out.ip.packet().size() <= 576);
  const auto icmp = decode_icmp(out);
  CHECK(icmp.type() == wire::icmp_type::kDestUnreachable);
  CHECK(icmp.code() == code);
  CHECK(icmp.rest_of_header() == 0);  // "unused" in RFC 792
  const std::size_t quoted = std::min<std::size_t>(original.size(), 576 - 28);
  CHECK(to_buffer(icmp.body()) == to_buffer(original.first(quoted)));
}

TEST_SUITE("ip.icmp") {
  TEST_CASE("echo request → echo reply with the same id, sequence and data") {
    for (std::size_t n : {0U, 1U, 56U, 1472U}) {
      CAPTURE(n);
      StackHarness h;
      h.learn(kPeerIp, kPeerMac);
      const Stats before = h.stats;
      const Buffer data = test::pattern(n, 11);
      h.receive(ping(0x4242, 7, data));
      const auto sent = h.drain();
      REQUIRE(sent.size() == 1);
      const auto out = decode_ipv4(sent[0]);
      CHECK(out.eth.dst() == kPeerMac);
      CHECK(out.eth.src() == kOurMac);
      CHECK(out.ip.src() == kOurIp);
      CHECK(out.ip.dst() == kPeerIp);
      CHECK(out.ip.protocol() == wire::ip_proto::kIcmp);
      CHECK(out.ip.ttl() == 64);
      CHECK(out.ip.header_len() == 20);
      CHECK_FALSE(out.ip.is_fragment());
      CHECK(out.ip.total_len() == 20 + 8 + n);
      CHECK(sent[0].size() == 14 + 20 + 8 + n);
      const auto icmp = decode_icmp(out);
      CHECK(icmp.type() == wire::icmp_type::kEchoReply);
      CHECK(icmp.code() == 0);
      CHECK(icmp.rest_of_header() == 0x42420007U);
      CHECK(to_buffer(icmp.body()) == data);
      CHECK(events_between(before, h.stats) == "icmp_echo_replies+1");
      CHECK(drops_between(before, h.stats).empty());
    }
  }

  TEST_CASE("the DSCP is echoed, as Linux does, but the reply is always Not-ECT") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    for (std::uint8_t tos : {0x00, 0x10, 0xb8, 0x02, 0x03, 0xb9, 0xff}) {
      CAPTURE(tos);
      Ipv4Spec s;
      s.tos = tos;
      h.receive(ping(1, 1, test::pattern(8), s));
      const auto sent = h.drain();
      REQUIRE(sent.size() == 1);
      const auto out = decode_ipv4(sent[0]);
      CHECK(out.ip.tos() == (tos & 0xfc));
      CHECK(out.ip.ecn() == wire::Ecn::NotEct);
    }
  }

  TEST_CASE("Ethernet padding is not echoed back") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Ipv4Spec s;
    s.padding = 18;  // 14 + 28 + 18 = the 60-byte Ethernet minimum
    const Buffer frame = ping(9, 9, {}, s);
    REQUIRE(frame.size() == 60);
    h.receive(frame);
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto out = decode_ipv4(sent[0]);
    CHECK(out.ip.total_len() == 28);
    CHECK(decode_icmp(out).body().empty());
  }

  TEST_CASE("a request with IP options gets a reply without them, same data") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Ipv4Spec s;
    s.options = test::bytes({0x01, 0x01, 0x01, 0x00});
    h.receive(ping(3, 4, test::pattern(32), s));
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto out = decode_ipv4(sent[0]);
    CHECK(out.ip.header_len() == 20);
    CHECK(to_buffer(decode_icmp(out).body()) == test::pattern(32));
  }

  TEST_CASE("successive packets we send carry different identifiers") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    h.receive(ping(1, 1, {}));
    h.receive(ping(1, 2, {}));
    const auto sent = h.drain();
    REQUIRE(sent.size() == 2);
    CHECK(decode_ipv4(sent[0]).ip.ident() != decode_ipv4(sent[1]).ip.ident());
  }

  TEST_CASE("a broadcast frame carrying a request for our unicast address is answered") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    h.receive(test::ipv4_frame({}, test::echo_request(5, 5, {}), wire::MacAddr::broadcast()));
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    CHECK(decode_ipv4(sent[0]).eth.dst() == kPeerMac);  // the reply is unicast
    CHECK(h.stats.get(Counter::IcmpEchoReplies) == 1);
  }

  TEST_CASE("when the peer's MAC is unknown the reply waits for ARP") {
    StackHarness h;
    h.receive(ping(0x0102, 1, test::pattern(56)));
    auto sent = h.drain();
    REQUIRE(sent.size() == 1);  // only our ARP request
    const auto eth = wire::EthernetView::parse(sent[0]);
    REQUIRE(eth.has_value());
    CHECK(eth->dst() == wire::MacAddr::broadcast());
    const auto arp = wire::parse_arp(eth->payload());
    REQUIRE(arp.has_value());
    CHECK(arp->op == 1);
    CHECK(arp->target_ip == kPeerIp);
    // Counted when handed to the link, although the frame is still parked.
    CHECK(events_between({}, h.stats) == "arp_requests_sent+1 icmp_echo_replies+1");

    h.advance(200ms);
    h.receive(test::arp_reply(kPeerMac, kPeerIp));
    sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto out = decode_ipv4(sent[0]);
    CHECK(out.eth.dst() == kPeerMac);
    const auto icmp = decode_icmp(out);
    CHECK(icmp.type() == wire::icmp_type::kEchoReply);
    CHECK(icmp.rest_of_header() == 0x01020001U);
    CHECK(to_buffer(icmp.body()) == test::pattern(56));
    CHECK(drops_between({}, h.stats).empty());
  }

  TEST_CASE("the reply is dropped as ArpUnresolved when the peer never answers") {
    StackHarness h;
    h.receive(ping(1, 1, {}));
    for (int i = 0; i < 5; ++i) { h.advance(1s); }
    CHECK(h.stats.get(Counter::ArpRequestsSent) == 3);
    CHECK(drops_between({}, h.stats) == "arp_unresolved+1");
    REQUIRE(h.obs.unreachable.size() == 1);
    CHECK(h.obs.unreachable[0].first == kPeerIp);
  }

  TEST_CASE("a reply larger than the MTU is not sent: Ipv4TooBig") {
    auto cfg = test::default_stack_config();
    cfg.mtu = 576;
    StackHarness h{cfg};
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    h.receive(ping(1, 1, test::pattern(576 - 28)));  // exactly fits
    CHECK(h.drain().size() == 1);
    h.receive(ping(1, 2, test::pattern(576 - 27)));  // one byte too many
    CHECK(h.drain().empty());
    CHECK(drops_between(before, h.stats) == "ipv4_too_big+1");
    CHECK(events_between(before, h.stats) == "icmp_echo_replies+1");
  }

  TEST_CASE("corrupt ICMP is counted and not answered") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    SUBCASE("bad checksum") {
      h.receive(test::ipv4_frame(
          {}, test::icmp_message(wire::icmp_type::kEchoRequest, 0, 1, test::pattern(9), true)));
      CHECK(drops_between(before, h.stats) == "icmp_bad_checksum+1");
    }
    SUBCASE("shorter than the 8-byte header") {
      for (std::size_t n = 0; n < 8; ++n) {
        CAPTURE(n);
        const Stats b = h.stats;
        h.receive(test::ipv4_frame({}, test::truncated(test::echo_request(1, 1, {}), n)));
        CHECK(drops_between(b, h.stats) == "icmp_truncated+1");
      }
    }
    CHECK(h.drain().empty());
    CHECK(events_between(before, h.stats).empty());
  }

  TEST_CASE("ICMP types other than echo request are counted, never answered") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    for (std::uint8_t type : {0, 3, 4, 5, 11, 12, 13, 17, 42}) {
      CAPTURE(type);
      const Stats before = h.stats;
      h.receive(test::ipv4_frame({}, test::icmp_message(type, 0, 0, test::pattern(28))));
      CHECK(h.drain().empty());
      CHECK(drops_between(before, h.stats) == "icmp_unhandled_type+1");
      CHECK(events_between(before, h.stats).empty());
    }
  }

  TEST_CASE("unknown protocol → protocol unreachable quoting the datagram") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    Ipv4Spec s;
    s.protocol = kUnknownProtocol;
    s.tos = 0x28;  // errors go out with TOS 0 regardless
    const Buffer packet = test::ipv4_packet(s, test::pattern(40));
    h.receive(test::eth_frame(kOurMac, kPeerMac, wire::ethertype::kIpv4, packet));
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    check_unreachable(sent[0], wire::unreachable_code::kProtocol, packet);
    CHECK(drops_between(before, h.stats) == "ipv4_unknown_protocol+1");
    CHECK(events_between(before, h.stats) == "icmp_errors_sent+1");
  }

  TEST_CASE("the quote is cut so that the error is at most 576 bytes (RFC 1812 §4.3.2.3)") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    for (std::size_t n : {527U, 528U, 529U, 1480U}) {  // original 547, 548, 549, 1500 bytes
      CAPTURE(n);
      Ipv4Spec s;
      s.protocol = kUnknownProtocol;
      const Buffer packet = test::ipv4_packet(s, test::pattern(n));
      h.receive(test::eth_frame(kOurMac, kPeerMac, wire::ethertype::kIpv4, packet));
      const auto sent = h.drain();
      REQUIRE(sent.size() == 1);
      check_unreachable(sent[0], wire::unreachable_code::kProtocol, packet);
      CHECK(decode_ipv4(sent[0]).ip.total_len() == std::min<std::size_t>(28 + 20 + n, 576));
    }
  }

  TEST_CASE("the quote excludes Ethernet padding") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Ipv4Spec s;
    s.protocol = kUnknownProtocol;
    s.padding = 26;
    const Buffer padded = test::ipv4_packet(s, {});
    h.receive(test::eth_frame(kOurMac, kPeerMac, wire::ethertype::kIpv4, padded));
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    check_unreachable(sent[0], wire::unreachable_code::kProtocol, wire::Bytes{padded}.first(20));
  }

  TEST_CASE("UDP → port unreachable, since no UDP service exists") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    const Buffer frame = udp_frame();
    h.receive(frame);
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    check_unreachable(sent[0], wire::unreachable_code::kPort, wire::Bytes{frame}.subspan(14));
    CHECK(drops_between(before, h.stats) == "udp_no_listener+1");
    CHECK(events_between(before, h.stats) == "icmp_errors_sent+1");
  }

  TEST_CASE("no ICMP error about a link-layer broadcast (RFC 1122 §3.2.2)") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    Ipv4Spec udp;
    udp.protocol = wire::ip_proto::kUdp;
    h.receive(test::ipv4_frame(udp, test::pattern(8), wire::MacAddr::broadcast()));
    Ipv4Spec other;
    other.protocol = kUnknownProtocol;
    h.receive(test::ipv4_frame(other, test::pattern(8), wire::MacAddr::broadcast()));
    CHECK(h.drain().empty());
    CHECK(drops_between(before, h.stats) == "ipv4_unknown_protocol+1 udp_no_listener+1");
    CHECK(events_between(before, h.stats).empty());
  }

  TEST_CASE("no ICMP error about a datagram from a bad source") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    for (const auto src : {wire::Ipv4Addr{}, ip(127, 0, 0, 1), ip(224, 0, 0, 5),
                           ip(255, 255, 255, 255), ip(10, 0, 0, 255), kOurIp}) {
      Ipv4Spec s;
      s.src = src;
      h.receive(udp_frame(s));
    }
    CHECK(h.drain().empty());
    CHECK(drops_between(before, h.stats) == "ipv4_bad_source+6");
    CHECK(events_between(before, h.stats).empty());
  }

  TEST_CASE("ICMP errors are rate limited: a burst of 50, then 1000 per second") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    const Stats before = h.stats;
    for (int i = 0; i < 60; ++i) { h.receive(udp_frame()); }
    CHECK(h.drain().size() == 50);
    CHECK(h.stats.get(Counter::IcmpErrorsSent) - before.get(Counter::IcmpErrorsSent) == 50);
    CHECK(h.stats.get(Counter::IcmpErrorsRateLimited) == 10);
    // Limited errors are still counted as the drop of their datagram.
    CHECK(drops_between(before, h.stats) == "udp_no_listener+60");

    h.now += 999us;  // not yet a whole token
    h.receive(udp_frame());
    CHECK(h.drain().empty());
    CHECK(h.stats.get(Counter::IcmpErrorsRateLimited) == 11);

    h.now += 1us;  // 1 ms after the burst: one token
    h.receive(udp_frame());
    h.receive(udp_frame());
    CHECK(h.drain().size() == 1);
    CHECK(h.stats.get(Counter::IcmpErrorsRateLimited) == 12);

    h.now += 10s;  // refills to the burst, not beyond
    for (int i = 0; i < 60; ++i) { h.receive(udp_frame()); }
    CHECK(h.drain().size() == 50);
    CHECK(h.stats.get(Counter::IcmpErrorsRateLimited) == 22);
  }

  TEST_CASE("echo replies are not rate limited") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    for (int i = 0; i < 200; ++i) { h.receive(ping(1, static_cast<std::uint16_t>(i), {})); }
    CHECK(h.drain().size() == 200);
    CHECK(h.stats.get(Counter::IcmpEchoReplies) == 200);
    CHECK(h.stats.get(Counter::IcmpErrorsRateLimited) == 0);
  }
}

}  // namespace
}  // namespace tapsrv::ip
