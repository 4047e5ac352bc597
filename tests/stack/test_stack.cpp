// Ethernet-level demultiplexing and whole-stack accounting, including a seeded garbage storm.
#include <doctest/doctest.h>

#include <chrono>
#include <random>

#include "support/frames.hpp"
#include "support/stack_harness.hpp"
#include "tapsrv/wire/arp.hpp"
#include "tapsrv/wire/icmpv4.hpp"

namespace tapsrv {
namespace {

using namespace std::chrono_literals;
using test::Buffer;
using test::drops_between;
using test::events_between;
using test::ip;
using test::Ipv4Spec;
using test::kOurIp;
using test::kOurMac;
using test::kPeerIp;
using test::kPeerMac;
using test::mac;
using test::StackHarness;

Buffer valid_ping() { return test::ipv4_frame({}, test::echo_request(1, 1, test::pattern(8))); }

TEST_SUITE("stack") {
  TEST_CASE("start() announces our address once") {
    StackHarness h;
    h.stack.start(h.now);
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto eth = wire::EthernetView::parse(sent[0]);
    REQUIRE(eth.has_value());
    CHECK(eth->dst() == wire::MacAddr::broadcast());
    CHECK(eth->src() == kOurMac);
    const auto arp = wire::parse_arp(eth->payload());
    REQUIRE(arp.has_value());
    CHECK(arp->sender_ip == kOurIp);
    CHECK(arp->target_ip == kOurIp);
    CHECK(events_between({}, h.stats) == "arp_gratuitous_sent+1");
  }

  TEST_CASE("every frame counts in rx_frames and rx_bytes, even one we drop at once") {
    StackHarness h;
    h.receive(Buffer{});
    h.receive(Buffer(13));
    h.receive(valid_ping());
    CHECK(h.stats.get(Counter::RxFrames) == 3);
    CHECK(h.stats.get(Counter::RxBytes) == 0 + 13 + valid_ping().size());
  }

  TEST_CASE("frames shorter than the Ethernet header are EthTruncated") {
    const Buffer good = valid_ping();
    for (std::size_t n = 0; n < wire::kEthHeaderLen; ++n) {
      CAPTURE(n);
      StackHarness h;
      h.receive(test::truncated(good, n));
      CHECK(drops_between({}, h.stats) == "eth_truncated+1");
      CHECK(h.drain().empty());
    }
  }

  TEST_CASE("a bare Ethernet header of a known type is dropped by the layer above") {
    StackHarness h;
    h.receive(test::eth_frame(kOurMac, kPeerMac, wire::ethertype::kIpv4, {}));
    h.receive(test::eth_frame(kOurMac, kPeerMac, wire::ethertype::kArp, {}));
    CHECK(drops_between({}, h.stats) == "arp_malformed+1 ipv4_truncated+1");
  }

  TEST_CASE("unicast frames for another MAC are EthNotForUs") {
    StackHarness h;
    for (const auto dst : {mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x03), kPeerMac, wire::MacAddr{},
                           mac(0x02, 0x00, 0x0a, 0x00, 0x00, 0x12)}) {
      h.receive(test::ipv4_frame({}, test::echo_request(1, 1, {}), dst));
      h.receive(test::arp_frame({.op = 1,
                                 .sender_mac = kPeerMac,
                                 .sender_ip = kPeerIp,
                                 .target_mac = {},
                                 .target_ip = kOurIp},
                                dst));
    }
    CHECK(drops_between({}, h.stats) == "eth_not_for_us+8");
    CHECK(events_between({}, h.stats).empty());
    CHECK(h.drain().empty());
  }

  TEST_CASE("multicast frames other than broadcast are EthNotForUs: we join no group") {
    StackHarness h;
    const wire::MacAddr groups[] = {
        mac(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01),  // IPv4 all-hosts
        mac(0x33, 0x33, 0x00, 0x00, 0x00, 0x01),  // IPv6 all-nodes
        mac(0x01, 0x80, 0xc2, 0x00, 0x00, 0x00),  // STP
    };
    for (const auto dst : groups) {
      h.receive(test::ipv4_frame({}, test::echo_request(1, 1, {}), dst));
    }
    CHECK(drops_between({}, h.stats) == "eth_not_for_us+3");
    CHECK(h.drain().empty());
  }

  TEST_CASE("broadcast and our own MAC are accepted") {
    StackHarness h;
    h.receive(test::arp_request(kPeerMac, kPeerIp, kOurIp));  // broadcast
    h.receive(test::arp_frame({.op = 1,
                               .sender_mac = kPeerMac,
                               .sender_ip = kPeerIp,
                               .target_mac = kOurMac,
                               .target_ip = kOurIp},
                              kOurMac));  // unicast, as a cache refresh is sent
    CHECK(h.drain().size() == 2);
    CHECK(events_between({}, h.stats) == "arp_requests_answered+2 arp_learned+1");
    CHECK(drops_between({}, h.stats).empty());
  }

  TEST_CASE("ethertypes we do not speak are EthUnsupportedType") {
    for (const std::uint16_t type : std::initializer_list<std::uint16_t>{
             wire::ethertype::kIpv6, wire::ethertype::kVlan, 0x88cc /* LLDP */, 0x8035 /* RARP */,
             0x002e /* an 802.3 length */, 0x0000, 0xffff}) {
      CAPTURE(type);
      StackHarness h;
      h.receive(test::eth_frame(kOurMac, kPeerMac, type, test::pattern(46)));
      h.receive(test::eth_frame(wire::MacAddr::broadcast(), kPeerMac, type, test::pattern(46)));
      CHECK(drops_between({}, h.stats) == "eth_unsupported_type+2");
      CHECK(h.drain().empty());
    }
  }

  TEST_CASE("timers pass through: next_deadline and on_timers") {
    StackHarness h;
    CHECK_FALSE(h.stack.next_deadline().has_value());
    h.receive(valid_ping());  // the reply waits for ARP
    h.drain();
    CHECK(h.stack.next_deadline() == h.now + 1s);
    h.stack.on_timers(h.now + 500ms);
    CHECK(h.drain().empty());
    h.stack.on_timers(h.now + 1s);
    CHECK(h.drain().size() == 1);
    CHECK(h.stats.get(Counter::ArpRequestsSent) == 2);
    CHECK(h.stack.next_deadline() == h.now + 2s);
  }

  TEST_CASE("the frame buffer is only borrowed: reusing it after on_frame is safe") {
    StackHarness h;
    h.learn(kPeerIp, kPeerMac);
    Buffer frame = valid_ping();
    h.receive(frame);
    std::fill(frame.begin(), frame.end(), std::byte{0xee});  // the run loop reuses its buffer
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    const auto out = test::decode_ipv4(sent[0]);
    CHECK(test::to_buffer(test::decode_icmp(out).body()) == test::pattern(8));
  }

  struct Outcome {
    std::uint64_t dropped = 0;    // input drop reasons counted
    std::uint64_t delivered = 0;  // rx_delivered
  };
  Outcome outcome_between(const Stats& before, const Stats& after) {
    return {.dropped = after.total_drops() - before.total_drops(),
            .delivered = after.get(Counter::RxDelivered) - before.get(Counter::RxDelivered)};
  }

  // Everything we emit must be a well-formed frame from us.
  void check_well_formed(const Buffer& f) {
    const auto eth = wire::EthernetView::parse(f);
    REQUIRE(eth.has_value());
    CHECK(eth->src() == kOurMac);
    CHECK_FALSE(eth->dst().is_zero());
    if (eth->ethertype() == wire::ethertype::kArp) {
      CHECK(f.size() == 14 + 28);
      const auto arp = wire::parse_arp(eth->payload());
      REQUIRE(arp.has_value());
      CHECK(arp->sender_ip == kOurIp);
      return;
    }
    REQUIRE(eth->ethertype() == wire::ethertype::kIpv4);
    const auto ipv4 = wire::Ipv4View::parse(eth->payload());
    REQUIRE(ipv4.has_value());
    CHECK(ipv4->packet().size() == eth->payload().size());
    CHECK(ipv4->packet().size() <= 1500);
    CHECK(ipv4->src() == kOurIp);
    if (ipv4->protocol() == wire::ip_proto::kTcp) { return; }  // the TCP engine checks its own
    REQUIRE(ipv4->protocol() == wire::ip_proto::kIcmp);
    CHECK(wire::IcmpView::parse(ipv4->payload()).has_value());
  }

  // Valid frames of every kind we handle; the storm starts from these and breaks them.
  std::vector<Buffer> templates() {
    std::vector<Buffer> t;
    t.push_back(valid_ping());
    t.push_back(test::arp_request(kPeerMac, kPeerIp, kOurIp));
    t.push_back(test::arp_reply(mac(0x02, 0, 0, 0, 0, 0x33), ip(10, 0, 0, 33)));
    Ipv4Spec udp;
    udp.protocol = wire::ip_proto::kUdp;
    t.push_back(test::ipv4_frame(udp, test::pattern(30)));
    Ipv4Spec proto;
    proto.protocol = 99;
    t.push_back(test::ipv4_frame(proto, test::pattern(600)));
    Ipv4Spec options;
    options.options = Buffer(12, std::byte{1});
    t.push_back(test::ipv4_frame(options, test::echo_request(2, 2, test::pattern(1400))));
    Ipv4Spec tcp;
    tcp.protocol = wire::ip_proto::kTcp;
    t.push_back(test::ipv4_frame(tcp, test::pattern(20)));
    return t;
  }

  TEST_CASE("garbage storm: 20000 seeded frames, every one accounted for exactly once") {
    auto cfg = test::default_stack_config();
    cfg.neighbors.max_pending_dests = 8;  // small, so that queue limits are exercised too
    cfg.neighbors.max_frames_per_dest = 4;
    StackHarness h{cfg};
    std::mt19937 rng{20240611};
    const auto tmpl = templates();
    const auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    std::uint64_t rx_bytes = 0;
    std::size_t sent_frames = 0;
    constexpr int kFrames = 20000;

    for (int i = 0; i < kFrames; ++i) {
      Buffer f;
      const auto kind = pick(10);
      if (kind < 3) {  // pure noise, random length
        f.resize(pick(1601));
        for (auto& b : f) { b = static_cast<std::byte>(rng() & 0xff); }
      } else {  // a valid frame with a few random bytes changed and maybe a new length
        f = tmpl[pick(tmpl.size())];
        const auto flips = pick(4);
        for (std::size_t k = 0; k < flips && !f.empty(); ++k) {
          f[pick(f.size())] = static_cast<std::byte>(rng() & 0xff);
        }
        if (pick(4) == 0) { f.resize(pick(1601)); }
        // Point most frames at us, so they reach the upper layers.
        if (pick(3) != 0 && f.size() >= 6) {
          (pick(2) == 0 ? kOurMac : wire::MacAddr::broadcast()).write_to(f);
        }
      }
      f.shrink_to_fit();  // capacity == size, so ASan sees any overread
      CAPTURE(i);
      CAPTURE(f.size());

      const Stats before = h.stats;
      h.receive(f);
      rx_bytes += f.size();
      const auto o = outcome_between(before, h.stats);
      // Exactly one outcome per frame: one drop reason, or delivered. An echo reply that could
      // not go out is a tx drop and leaves the request delivered.
      CHECK(o.dropped + o.delivered == 1);
      test::check_frame_accounting(h.stats);

      for (const auto& out : h.drain()) {
        check_well_formed(out);
        ++sent_frames;
      }
      h.advance(1ms);  // 20 s in all: ARP retries and failures happen along the way
      for (const auto& out : h.drain()) {
        check_well_formed(out);
        ++sent_frames;
      }
    }
    CHECK(h.stats.get(Counter::RxFrames) == kFrames);
    CHECK(h.stats.get(Counter::RxBytes) == rx_bytes);
    CHECK(h.stats.get(Counter::InternalBug) == 0);
    CHECK(sent_frames > 0);
    // Most frames are broken and dropped; some valid ones got through and were answered.
    CHECK(h.stats.total_drops() > kFrames / 2);
    CHECK(h.stats.get(Counter::IcmpEchoReplies) > 0);
    CHECK(h.stats.get(Counter::ArpRequestsAnswered) > 0);
    CHECK(h.stack.link().neighbors().pending_count() <= 8);

    // And the stack still works afterwards.
    h.advance(10s);
    h.drain();
    h.learn(kPeerIp, kPeerMac);
    h.receive(valid_ping());
    const auto sent = h.drain();
    REQUIRE(sent.size() == 1);
    CHECK(test::decode_icmp(test::decode_ipv4(sent[0])).type() == wire::icmp_type::kEchoReply);
  }
}

}  // namespace
}  // namespace tapsrv
