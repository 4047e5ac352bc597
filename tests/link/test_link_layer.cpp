// ARP behaviour of the link layer (RFC 826, RFC 5227) and Ethernet output through resolution.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "support/frames.hpp"
#include "support/stack_harness.hpp"
#include "tapsrv/link/link_layer.hpp"
#include "tapsrv/wire/arp.hpp"
#include "tapsrv/wire/ethernet.hpp"

namespace tapsrv::link {
namespace {

using namespace std::chrono_literals;
using test::Buffer;
using test::drops_between;
using test::events_between;
using test::ip;
using test::kOurIp;
using test::kOurMac;
using test::kPeerIp;
using test::kPeerMac;
using test::mac;
using wire::MacAddr;

const MacAddr kOtherMac = mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x63);
const wire::Ipv4Addr kOtherIp = ip(10, 0, 0, 99);
const wire::Ipv4Addr kGateway = ip(10, 0, 0, 254);

// A link layer on its own, fed ARP payloads directly.
struct LinkFixture {
  explicit LinkFixture(NeighborConfig n = {})
      : link{LinkConfig{.mac = kOurMac,
                        .ip = kOurIp,
                        .neighbors = n,
                        .subnet = test::kOurSubnet,
                        .gateway = kGateway},
             tx, stats, obs} {}

  void arp(const wire::ArpPacket& p) { link.on_arp(now, test::arp_packet(p)); }
  void arp_raw(const Buffer& payload) { link.on_arp(now, payload); }
  /// An IPv4 "packet" (just bytes here) handed to the link for `hop`.
  void send_ip(wire::Ipv4Addr hop, const Buffer& packet) {
    auto room = link.begin_ipv4(packet.size());
    REQUIRE(room.size() == packet.size());
    std::copy(packet.begin(), packet.end(), room.begin());
    link.finish_ipv4(now, hop);
  }
  void advance(Duration d) {
    now += d;
    link.on_timers(now);
  }
  std::vector<Buffer> drain() {
    std::vector<Buffer> out;
    for (std::size_t i = 0; i < tx.size(); ++i) { out.emplace_back(tx[i].begin(), tx[i].end()); }
    tx.clear();
    return out;
  }

  TxQueue tx;
  Stats stats;
  test::RecordingLinkObserver obs;
  LinkLayer link;
  Instant now{};
};

wire::ArpPacket request_from(MacAddr m, wire::Ipv4Addr sender, wire::Ipv4Addr target) {
  return {.op = 1, .sender_mac = m, .sender_ip = sender, .target_mac = {}, .target_ip = target};
}
wire::ArpPacket reply_from(MacAddr m, wire::Ipv4Addr sender) {
  return {
      .op = 2, .sender_mac = m, .sender_ip = sender, .target_mac = kOurMac, .target_ip = kOurIp};
}

// Checks the Ethernet header of an ARP frame we sent and returns its ARP packet.
wire::ArpPacket sent_arp(const Buffer& frame, MacAddr eth_dst) {
  CHECK(frame.size() == wire::kEthHeaderLen + wire::kArpLen);
  const auto eth = wire::EthernetView::parse(frame);
  REQUIRE(eth.has_value());
  CHECK(eth->dst() == eth_dst);
  CHECK(eth->src() == kOurMac);
  CHECK(eth->ethertype() == wire::ethertype::kArp);
  const auto p = wire::parse_arp(eth->payload());
  REQUIRE(p.has_value());
  return *p;
}

void check_is_request_for(const Buffer& frame, wire::Ipv4Addr target) {
  const auto p = sent_arp(frame, MacAddr::broadcast());
  CHECK(p == wire::ArpPacket{.op = 1,
                             .sender_mac = kOurMac,
                             .sender_ip = kOurIp,
                             .target_mac = {},
                             .target_ip = target});
}

// Checks an IPv4 frame released to `dst` and returns what followed the Ethernet header.
Buffer sent_ip(const Buffer& frame, MacAddr dst) {
  const auto eth = wire::EthernetView::parse(frame);
  REQUIRE(eth.has_value());
  CHECK(eth->dst() == dst);
  CHECK(eth->src() == kOurMac);
  CHECK(eth->ethertype() == wire::ethertype::kIpv4);
  return Buffer(eth->payload().begin(), eth->payload().end());
}

TEST_SUITE("link.arp") {
  TEST_CASE("announce: a gratuitous request for our own address (RFC 5227 §2.3)") {
    LinkFixture f;
    const Stats before = f.stats;
    f.link.announce();
    const auto out = f.drain();
    REQUIRE(out.size() == 1);
    check_is_request_for(out[0], kOurIp);  // sender and target IP are both ours
    CHECK(events_between(before, f.stats) == "arp_gratuitous_sent+1");
    CHECK(drops_between(before, f.stats).empty());
  }

  TEST_CASE("a request for our IP is answered and its sender learned") {
    LinkFixture f;
    f.arp(request_from(kPeerMac, kPeerIp, kOurIp));
    const auto out = f.drain();
    REQUIRE(out.size() == 1);
    CHECK(sent_arp(out[0], kPeerMac) == wire::ArpPacket{.op = 2,
                                                        .sender_mac = kOurMac,
                                                        .sender_ip = kOurIp,
                                                        .target_mac = kPeerMac,
                                                        .target_ip = kPeerIp});
    CHECK(events_between({}, f.stats) == "arp_requests_answered+1 arp_learned+1");
    CHECK(drops_between({}, f.stats).empty());
    REQUIRE(f.obs.learned.size() == 1);
    CHECK(f.obs.learned[0].ip == kPeerIp);
    CHECK(f.obs.learned[0].mac == kPeerMac);
    CHECK_FALSE(f.obs.learned[0].changed);
    CHECK(f.link.neighbors().size() == 1);

    // Learned: an IPv4 frame for the peer now goes out at once.
    f.send_ip(kPeerIp, test::pattern(30));
    const auto ip_out = f.drain();
    REQUIRE(ip_out.size() == 1);
    CHECK(sent_ip(ip_out[0], kPeerMac) == test::pattern(30));
  }

  TEST_CASE("a sender off our subnet is answered but not learned; the gateway is learned") {
    // Regression: any sender was learned, so a peer claiming many off-subnet addresses filled
    // the cache (max_entries) with entries never used and evicted real neighbours.
    LinkFixture f;
    for (const auto sender :
         {ip(10, 0, 1, 5), ip(192, 168, 0, 1), ip(10, 0, 0, 255), ip(10, 0, 0, 0)}) {
      CAPTURE(sender.value);
      f.arp(request_from(kOtherMac, sender, kOurIp));
      const auto out = f.drain();
      REQUIRE(out.size() == 1);  // still answered, as Linux does (arp_ignore 0)
      CHECK(sent_arp(out[0], kOtherMac).target_ip == sender);
    }
    CHECK(f.link.neighbors().size() == 0);
    CHECK(f.obs.learned.empty());
    CHECK(events_between({}, f.stats) == "arp_requests_answered+4");
    f.arp(reply_from(kOtherMac, ip(172, 16, 0, 1)));
    CHECK(f.link.neighbors().size() == 0);
    f.arp(request_from(kOtherMac, kGateway, kOurIp));
    f.drain();
    CHECK(f.link.neighbors().size() == 1);
    REQUIRE(f.obs.learned.size() == 1);
    CHECK(f.obs.learned[0].ip == kGateway);
  }

  TEST_CASE("a repeated request is answered again but learned once") {
    LinkFixture f;
    f.arp(request_from(kPeerMac, kPeerIp, kOurIp));
    f.arp(request_from(kPeerMac, kPeerIp, kOurIp));
    CHECK(f.drain().size() == 2);
    CHECK(events_between({}, f.stats) == "arp_requests_answered+2 arp_learned+1");
    CHECK(f.obs.learned.size() == 1);
  }

  TEST_CASE("requests for other IPs are ignored, counted and not learned") {
    LinkFixture f;
    f.arp(request_from(kPeerMac, kPeerIp, kOtherIp));
    CHECK(f.drain().empty());
    CHECK(drops_between({}, f.stats) == "arp_not_for_us+1");
    CHECK(events_between({}, f.stats).empty());
    CHECK(f.link.neighbors().size() == 0);
    CHECK(f.obs.learned.empty());
  }

  TEST_CASE("RFC 826 merge: a known sender is updated whoever the packet is for") {
    LinkFixture f;
    f.arp(reply_from(kPeerMac, kPeerIp));  // learned: the reply was addressed to us
    CHECK(f.stats.get(Counter::ArpLearned) == 1);
    CHECK(f.drain().empty());  // a reply is not answered
    const Stats before = f.stats;

    // Not for us, so each of these is still counted ArpNotForUs: every ARP frame is exactly
    // one of answered, reply received, or dropped.
    SUBCASE("new MAC in a request for someone else: the entry is updated") {
      f.arp(request_from(kOtherMac, kPeerIp, kOtherIp));
      CHECK(f.drain().empty());
      CHECK(drops_between(before, f.stats) == "arp_not_for_us+1");
      CHECK(events_between(before, f.stats) == "arp_learned+1");
      REQUIRE(f.obs.learned.size() == 2);
      CHECK(f.obs.learned[1].mac == kOtherMac);
      CHECK(f.obs.learned[1].changed);
      f.send_ip(kPeerIp, test::pattern(4));
      const auto out = f.drain();
      REQUIRE(out.size() == 1);
      CHECK(sent_ip(out[0], kOtherMac) == test::pattern(4));
    }
    SUBCASE("same MAC: a silent refresh that extends the lifetime") {
      f.now += 50s;
      f.arp(request_from(kPeerMac, kPeerIp, kOtherIp));
      CHECK(drops_between(before, f.stats) == "arp_not_for_us+1");
      CHECK(events_between(before, f.stats).empty());
      CHECK(f.obs.learned.size() == 1);
      f.now += 50s;  // 100 s after the first learn, 50 s after the refresh
      f.send_ip(kPeerIp, test::pattern(4));
      const auto out = f.drain();
      REQUIRE(out.size() == 1);
      CHECK(sent_ip(out[0], kPeerMac) == test::pattern(4));
    }
    SUBCASE("a gratuitous ARP from the neighbour is a merge too") {
      f.arp(request_from(kOtherMac, kPeerIp, kPeerIp));
      CHECK(drops_between(before, f.stats) == "arp_not_for_us+1");
      CHECK(events_between(before, f.stats) == "arp_learned+1");
    }
  }

  TEST_CASE("an unknown sender's gratuitous ARP is not learned") {
    LinkFixture f;
    f.arp(request_from(kPeerMac, kPeerIp, kPeerIp));
    CHECK(drops_between({}, f.stats) == "arp_not_for_us+1");
    CHECK(f.link.neighbors().size() == 0);
  }

  TEST_CASE("an expired entry is not merged: it is a new neighbour again") {
    LinkFixture f;
    f.arp(reply_from(kPeerMac, kPeerIp));
    f.now += 61s;
    const Stats before = f.stats;
    f.arp(request_from(kPeerMac, kPeerIp, kOtherIp));
    CHECK(drops_between(before, f.stats) == "arp_not_for_us+1");
    f.arp(reply_from(kOtherMac, kPeerIp));
    CHECK(events_between(before, f.stats) == "arp_replies_received+1 arp_learned+1");
    REQUIRE(f.obs.learned.size() == 2);
    CHECK_FALSE(f.obs.learned[1].changed);  // the old binding was gone, so this one is new
  }

  TEST_CASE("probes (sender IP 0.0.0.0) are answered but not learned (RFC 5227 §2.1.1)") {
    LinkFixture f;
    f.arp(request_from(kPeerMac, wire::Ipv4Addr{}, kOurIp));
    const auto out = f.drain();
    REQUIRE(out.size() == 1);
    // Like Linux: a defence of our address, unicast to the prober.
    CHECK(sent_arp(out[0], kPeerMac) == wire::ArpPacket{.op = 2,
                                                        .sender_mac = kOurMac,
                                                        .sender_ip = kOurIp,
                                                        .target_mac = kPeerMac,
                                                        .target_ip = {}});
    CHECK(events_between({}, f.stats) == "arp_requests_answered+1");
    CHECK(drops_between({}, f.stats).empty());
    CHECK(f.link.neighbors().size() == 0);
    CHECK(f.obs.learned.empty());
  }

  TEST_CASE("a probe for another address is not ours") {
    LinkFixture f;
    f.arp(request_from(kPeerMac, wire::Ipv4Addr{}, kOtherIp));
    CHECK(f.drain().empty());
    CHECK(drops_between({}, f.stats) == "arp_not_for_us+1");
  }

  TEST_CASE("another host using our address is an address conflict") {
    LinkFixture f;
    SUBCASE("its announcement") { f.arp(request_from(kOtherMac, kOurIp, kOurIp)); }
    SUBCASE("its reply to someone else") {
      f.arp({.op = 2,
             .sender_mac = kOtherMac,
             .sender_ip = kOurIp,
             .target_mac = kPeerMac,
             .target_ip = kPeerIp});
    }
    CHECK(f.drain().empty());
    CHECK(drops_between({}, f.stats) == "arp_conflict+1");
    CHECK(events_between({}, f.stats).empty());
    REQUIRE(f.obs.conflicts.size() == 1);
    CHECK(f.obs.conflicts[0].first == kOurIp);
    CHECK(f.obs.conflicts[0].second == kOtherMac);
    CHECK(f.link.neighbors().size() == 0);
  }

  TEST_CASE("a reply from an unknown sender addressed to us is learned, not answered") {
    LinkFixture f;
    f.arp(reply_from(kPeerMac, kPeerIp));
    CHECK(f.drain().empty());
    CHECK(events_between({}, f.stats) == "arp_replies_received+1 arp_learned+1");
    CHECK(drops_between({}, f.stats).empty());
    CHECK(f.link.neighbors().size() == 1);
  }

  TEST_CASE("sender hardware addresses that cannot be a neighbour's are ArpMalformed") {
    LinkFixture f;
    MacAddr bad;
    SUBCASE("broadcast") { bad = MacAddr::broadcast(); }
    SUBCASE("multicast") { bad = mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01); }
    SUBCASE("zero") { bad = MacAddr{}; }
    f.arp(request_from(bad, kPeerIp, kOurIp));
    CHECK(f.drain().empty());
    CHECK(drops_between({}, f.stats) == "arp_malformed+1");
    CHECK(events_between({}, f.stats).empty());
    CHECK(f.link.neighbors().size() == 0);
  }

  TEST_CASE("operations other than request and reply are ArpUnsupportedOp") {
    for (std::uint16_t op : {0, 3, 4, 8, 9, 0xffff}) {
      CAPTURE(op);
      LinkFixture f;
      auto p = request_from(kPeerMac, kPeerIp, kOurIp);
      p.op = op;
      f.arp(p);
      CHECK(f.drain().empty());
      CHECK(drops_between({}, f.stats) == "arp_unsupported_op+1");
      CHECK(f.link.neighbors().size() == 0);
    }
  }

  TEST_CASE("short or foreign ARP payloads are ArpMalformed") {
    const Buffer good = test::arp_packet(request_from(kPeerMac, kPeerIp, kOurIp));
    for (std::size_t n = 0; n < wire::kArpLen; ++n) {
      CAPTURE(n);
      LinkFixture f;
      f.arp_raw(test::truncated(good, n));
      CHECK(drops_between({}, f.stats) == "arp_malformed+1");
      CHECK(f.drain().empty());
    }
    LinkFixture f;
    Buffer ieee = good;
    ieee[1] = std::byte{6};
    f.arp_raw(ieee);
    CHECK(drops_between({}, f.stats) == "arp_malformed+1");
  }

  TEST_CASE("an unresolved next hop: request sent, frames parked, released on the reply") {
    LinkFixture f;
    f.send_ip(kPeerIp, test::pattern(40, 1));
    auto out = f.drain();
    REQUIRE(out.size() == 1);  // only the request: the frame waits
    check_is_request_for(out[0], kPeerIp);
    CHECK(events_between({}, f.stats) == "arp_requests_sent+1");
    CHECK(f.link.neighbors().pending_count() == 1);
    CHECK(f.link.next_deadline() == f.now + 1s);

    f.send_ip(kPeerIp, test::pattern(41, 2));
    f.send_ip(kPeerIp, test::pattern(42, 3));
    CHECK(f.drain().empty());  // one request per destination, not one per frame
    CHECK(f.stats.get(Counter::ArpRequestsSent) == 1);

    f.now += 300ms;
    f.arp(reply_from(kPeerMac, kPeerIp));
    out = f.drain();
    REQUIRE(out.size() == 3);
    CHECK(sent_ip(out[0], kPeerMac) == test::pattern(40, 1));  // in order, MAC filled in
    CHECK(sent_ip(out[1], kPeerMac) == test::pattern(41, 2));
    CHECK(sent_ip(out[2], kPeerMac) == test::pattern(42, 3));
    CHECK(f.link.neighbors().pending_count() == 0);
    CHECK_FALSE(f.link.next_deadline().has_value());
    CHECK(events_between({}, f.stats) ==
          "arp_replies_received+1 arp_requests_sent+1 arp_learned+1");
    CHECK(drops_between({}, f.stats).empty());
  }

  TEST_CASE("parked frames are also released when the next hop asks for us first") {
    LinkFixture f;
    f.send_ip(kPeerIp, test::pattern(20));
    f.drain();
    f.arp(request_from(kPeerMac, kPeerIp, kOurIp));
    const auto out = f.drain();
    REQUIRE(out.size() == 2);
    CHECK(sent_ip(out[0], kPeerMac) == test::pattern(20));  // parked frame first
    CHECK(sent_arp(out[1], kPeerMac).op == 2);              // then our answer
  }

  TEST_CASE("parking is bounded per destination") {
    LinkFixture f{{.max_frames_per_dest = 4}};
    for (int i = 0; i < 6; ++i) { f.send_ip(kPeerIp, test::pattern(10)); }
    CHECK(f.drain().size() == 1);  // the request
    CHECK(drops_between({}, f.stats) == "arp_queue_full+2");
    f.arp(reply_from(kPeerMac, kPeerIp));
    CHECK(f.drain().size() == 4);
  }

  TEST_CASE("parking is bounded in the number of destinations") {
    LinkFixture f{{.max_pending_dests = 3}};
    for (std::uint8_t i = 10; i < 15; ++i) { f.send_ip(ip(10, 0, 0, i), test::pattern(10)); }
    CHECK(f.drain().size() == 3);  // requests for the first three only
    CHECK(events_between({}, f.stats) == "arp_requests_sent+3");
    CHECK(drops_between({}, f.stats) == "arp_queue_full+2");
    CHECK(f.link.neighbors().pending_count() == 3);
  }

  TEST_CASE("retries every retry_interval, then fails and counts every dropped frame") {
    LinkFixture f{{.retry_interval = 1s, .max_requests = 3}};
    f.send_ip(kPeerIp, test::pattern(10));
    f.send_ip(kPeerIp, test::pattern(10));
    f.send_ip(kPeerIp, test::pattern(10));
    CHECK(f.drain().size() == 1);

    f.advance(999ms);
    CHECK(f.drain().empty());
    f.advance(1ms);  // t = 1 s: second request
    auto out = f.drain();
    REQUIRE(out.size() == 1);
    check_is_request_for(out[0], kPeerIp);
    f.advance(1s);  // t = 2 s: third and last
    out = f.drain();
    REQUIRE(out.size() == 1);
    check_is_request_for(out[0], kPeerIp);
    CHECK(f.stats.get(Counter::ArpRequestsSent) == 3);
    CHECK(drops_between({}, f.stats).empty());

    f.advance(1s);  // t = 3 s: give up
    CHECK(f.drain().empty());
    CHECK(drops_between({}, f.stats) == "arp_unresolved+3");
    CHECK(f.stats.get(Counter::ArpRequestsSent) == 3);
    REQUIRE(f.obs.unreachable.size() == 1);
    CHECK(f.obs.unreachable[0].first == kPeerIp);
    CHECK(f.obs.unreachable[0].second == 3);
    CHECK_FALSE(f.link.next_deadline().has_value());

    // A late reply finds nothing left to release, but its sender is learned all the same.
    f.arp(reply_from(kPeerMac, kPeerIp));
    CHECK(f.drain().empty());
    f.send_ip(kPeerIp, test::pattern(5));
    out = f.drain();
    REQUIRE(out.size() == 1);
    CHECK(sent_ip(out[0], kPeerMac) == test::pattern(5));
  }

  TEST_CASE("after a failed resolution the next frame starts a new one") {
    LinkFixture f{{.retry_interval = 1s, .max_requests = 1}};
    f.send_ip(kPeerIp, test::pattern(10));
    f.drain();
    f.advance(1s);
    CHECK(drops_between({}, f.stats) == "arp_unresolved+1");
    f.send_ip(kPeerIp, test::pattern(10));
    const auto out = f.drain();
    REQUIRE(out.size() == 1);
    check_is_request_for(out[0], kPeerIp);
    CHECK(f.stats.get(Counter::ArpRequestsSent) == 2);
  }

  TEST_CASE("a cache entry expires and the next hop is resolved again") {
    LinkFixture f{{.reachable_time = 60s}};
    f.arp(reply_from(kPeerMac, kPeerIp));
    f.now += 59s;
    f.send_ip(kPeerIp, test::pattern(8));
    CHECK(sent_ip(f.drain().at(0), kPeerMac) == test::pattern(8));
    f.now += 1s;
    f.send_ip(kPeerIp, test::pattern(8));
    const auto out = f.drain();
    REQUIRE(out.size() == 1);
    check_is_request_for(out[0], kPeerIp);
  }

  TEST_CASE("begin_ipv4 reserves the Ethernet header in front of the packet") {
    LinkFixture f;
    f.arp(reply_from(kPeerMac, kPeerIp));
    f.send_ip(kPeerIp, {});
    const auto out = f.drain();
    REQUIRE(out.size() == 1);
    CHECK(out[0].size() == wire::kEthHeaderLen);
    CHECK(sent_ip(out[0], kPeerMac).empty());
  }
}

}  // namespace
}  // namespace tapsrv::link
