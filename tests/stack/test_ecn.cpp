// The stack's part of ECN (RFC 3168 §5, §6.1): the IP codepoint reaches TCP with each segment,
// TCP's choice of codepoint reaches the wire, everything else leaves Not-ECT, and a TSO frame
// with CWR is flagged for the device (virtio GSO_ECN).
#include <doctest/doctest.h>

#include <vector>

#include "support/stack_harness.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::test {
namespace {

using wire::Ecn;
using wire::TcpFlags;

constexpr std::uint16_t kEchoPort = 3333;
constexpr std::uint16_t kClosedPort = 4444;
constexpr std::uint16_t kClientPort = 40000;
const tcp::FourTuple kId{kPeerIp, kClientPort, kOurIp, kEchoPort};
constexpr auto kAckPsh = static_cast<std::uint8_t>(TcpFlags::kAck | TcpFlags::kPsh);
constexpr auto kAckCwr = static_cast<std::uint8_t>(TcpFlags::kAck | TcpFlags::kCwr);

Buffer tcp_frame(const wire::TcpSegment& s, std::uint8_t tos) {
  Buffer seg(wire::header_len(s) + s.payload.size());
  wire::encode(s, kPeerIp, kOurIp, seg);
  Ipv4Spec ip;
  ip.protocol = wire::ip_proto::kTcp;
  ip.tos = tos;
  return ipv4_frame(ip, seg);
}

wire::TcpSegment client_syn(std::uint16_t port, std::uint8_t extra_flags = 0,
                            std::uint16_t from = kClientPort) {
  wire::TcpSegment s{.src_port = from,
                     .dst_port = port,
                     .seq = wire::SeqNum{5000},
                     .flags = TcpFlags{static_cast<std::uint8_t>(TcpFlags::kSyn | extra_flags)},
                     .window = 65535};
  s.options.mss = 1460;
  return s;
}

/// Our segment, as TCP would hand it to the stack.
wire::TcpSegment ours(std::uint8_t flags, wire::Bytes payload, Ecn ecn) {
  wire::TcpSegment s{.src_port = kEchoPort,
                     .dst_port = kClientPort,
                     .seq = wire::SeqNum{10001},
                     .ack = wire::SeqNum{5001},
                     .flags = TcpFlags{flags},
                     .window = 65535,
                     .payload = payload};
  s.ecn = ecn;
  return s;
}

class RecordingTcpObserver final : public tcp::Observer {
 public:
  void on_segment(const tcp::FourTuple& /*id*/, bool outgoing,
                  const wire::TcpSegment& seg) override {
    if (!outgoing) { incoming.push_back(seg.ecn); }
  }
  [[nodiscard]] bool wants_segments() const noexcept override { return true; }
  std::vector<Ecn> incoming;
};

struct EcnHarness {
  explicit EcnHarness(bool offload = false)
      : stack{config(offload), stats, isn, link_obs, tcp_obs} {
    stack.listen(now, kEchoPort, *echo);
    stack.on_frame(now, arp_request(kPeerMac, kPeerIp, kOurIp));
    stack.tx().clear();
  }
  static StackConfig config(bool offload) {
    auto c = default_stack_config();
    c.offload = offload;
    return c;
  }
  void receive(const Buffer& frame) { stack.on_frame(now, frame); }
  /// The one frame sent since the last call.
  Buffer take_one() {
    REQUIRE(stack.tx().size() == 1);
    Buffer f(stack.tx()[0].begin(), stack.tx()[0].end());
    stack.tx().clear();
    return f;
  }

  Stats stats;
  RecordingLinkObserver link_obs;
  RecordingTcpObserver tcp_obs;
  tcp::FixedIsn isn{10000};
  std::unique_ptr<tcp::HandlerFactory> echo = service::make_factory(service::Kind::Echo);
  Stack stack;
  Instant now{};
};

TEST_SUITE("stack.ecn") {
  TEST_CASE("each received segment carries its IP header's ECN codepoint to TCP") {
    EcnHarness h;
    const std::pair<std::uint8_t, Ecn> cases[] = {{0x00, Ecn::NotEct}, {0x01, Ecn::Ect1},
                                                  {0x02, Ecn::Ect0},   {0x03, Ecn::Ce},
                                                  {0xb8, Ecn::NotEct}, {0xbb, Ecn::Ce}};
    for (const auto& c : cases) {
      const std::uint8_t tos = c.first;  // not a structured binding: clang 14 cannot CAPTURE one
      const Ecn ecn = c.second;
      CAPTURE(tos);
      h.tcp_obs.incoming.clear();
      h.receive(tcp_frame(client_syn(kClosedPort), tos));
      REQUIRE(h.tcp_obs.incoming.size() == 1);
      CHECK(h.tcp_obs.incoming[0] == ecn);
      h.stack.tx().clear();
    }
  }

  TEST_CASE("the codepoint TCP chose is the one on the wire; the DSCP stays 0") {
    EcnHarness h;
    const Buffer data = pattern(100);
    for (const Ecn ecn : {Ecn::NotEct, Ecn::Ect0, Ecn::Ect1, Ecn::Ce}) {
      CAPTURE(static_cast<int>(ecn));
      h.stack.tcp_out().send(kId, ours(kAckPsh, data, ecn));
      const Buffer f = h.take_one();
      const auto out = decode_ipv4(f);
      CHECK(out.ip.ecn() == ecn);
      CHECK(out.ip.tos() == static_cast<std::uint8_t>(ecn));
      CHECK(wire::verify_tcp_checksum(out.ip.payload(), kOurIp, kPeerIp));
    }
  }

  TEST_CASE("what the engine sends on its own is Not-ECT, whatever the segment it answers") {
    EcnHarness h;
    bool to_listener = true;
    SUBCASE("SYN-ACKs to ECN-setup SYNs that arrived ECT or CE") { to_listener = true; }
    SUBCASE("RSTs for a closed port") { to_listener = false; }
    for (const std::uint8_t tos : {0x01, 0x02, 0x03, 0xbb}) {
      CAPTURE(tos);
      CAPTURE(to_listener);
      // A new client port each time, so that every SYN opens a connection of its own.
      const auto from = static_cast<std::uint16_t>(kClientPort + tos);
      constexpr auto kSetup = static_cast<std::uint8_t>(TcpFlags::kEce | TcpFlags::kCwr);
      h.receive(tcp_frame(client_syn(to_listener ? kEchoPort : kClosedPort, kSetup, from), tos));
      const Buffer f = h.take_one();
      const auto out = decode_ipv4(f);
      CHECK(out.ip.tos() == 0);
      const auto tcp = wire::TcpView::parse(out.ip.payload());
      REQUIRE(tcp.has_value());
      const auto seg = wire::decode(*tcp);
      REQUIRE(seg.has_value());
      CHECK(seg->flags.rst() == !to_listener);
    }
  }

  TEST_CASE("offload: a TSO frame with CWR asks the device for GSO_ECN; nothing else does") {
    EcnHarness h{true};
    const Buffer data = pattern(4 * 1460);
    auto seg = ours(kAckCwr, data, Ecn::Ect0);
    SUBCASE("TSO with CWR") {
      seg.tso_segment_size = 1460;
      h.stack.tcp_out().send(kId, seg);
      CHECK(h.stack.tx().offload(0).gso_size == 1460);
      CHECK(h.stack.tx().offload(0).gso_ecn);
    }
    SUBCASE("TSO without CWR") {
      seg.flags = TcpFlags{TcpFlags::kAck};
      seg.tso_segment_size = 1460;
      h.stack.tcp_out().send(kId, seg);
      CHECK(h.stack.tx().offload(0).gso_size == 1460);
      CHECK_FALSE(h.stack.tx().offload(0).gso_ecn);
    }
    SUBCASE("CWR on a frame the device does not cut") {
      seg.payload = wire::Bytes{data}.first(1000);
      h.stack.tcp_out().send(kId, seg);
      CHECK(h.stack.tx().offload(0).gso_size == 0);
      CHECK_FALSE(h.stack.tx().offload(0).gso_ecn);
    }
    CHECK(decode_ipv4(h.take_one()).ip.ecn() == Ecn::Ect0);
  }
}

}  // namespace
}  // namespace tapsrv::test
