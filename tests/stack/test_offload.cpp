// The stack with offload on (a TAP with a virtio-net header): TCP frames leave with a partial
// checksum and, when long, a request to cut them at the MSS; frames the kernel vouches for skip
// our checksum check, and uncut 64 KiB segments from it are taken whole.
#include <doctest/doctest.h>

#include "support/stack_harness.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/wire/checksum.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::test {
namespace {

constexpr std::uint16_t kEchoPort = 3333;
constexpr std::uint16_t kClientPort = 40000;
constexpr std::uint32_t kClientIss = 5000;
constexpr std::uint32_t kServerIss = 10000;  // the harness's FixedIsn
constexpr std::size_t kTcpStart = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen;

Buffer tcp_frame(const wire::TcpSegment& s, bool corrupt_checksum = false) {
  Buffer seg(wire::header_len(s) + s.payload.size());
  wire::encode(s, kPeerIp, kOurIp, seg);
  if (corrupt_checksum) { seg[wire::kTcpChecksumOffset] ^= std::byte{0x5a}; }
  Ipv4Spec ip;
  ip.protocol = wire::ip_proto::kTcp;
  return ipv4_frame(ip, seg);
}

wire::TcpSegment client(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                        wire::Bytes payload = {}) {
  return {.src_port = kClientPort,
          .dst_port = kEchoPort,
          .seq = wire::SeqNum{seq},
          .ack = wire::SeqNum{ack},
          .flags = wire::TcpFlags{flags},
          .window = 65535,
          .payload = payload};
}

wire::TcpSegment client_syn() {
  auto s = client(wire::TcpFlags::kSyn, kClientIss, 0);
  s.options.mss = 1460;
  return s;
}

struct OffloadHarness : StackHarness {
  OffloadHarness() : StackHarness{config()} {
    stack.listen(now, kEchoPort, *echo);
    learn(kPeerIp, kPeerMac);
  }
  static StackConfig config() {
    auto c = default_stack_config();
    c.offload = true;
    return c;
  }
  std::unique_ptr<tcp::HandlerFactory> echo = service::make_factory(service::Kind::Echo);
};

/// Does what the device does for a NEEDS_CSUM frame, then checks the result is a valid segment.
bool completes_to_valid_checksum(Buffer frame, TxOffload o) {
  const auto tcp = wire::MutBytes{frame}.subspan(o.csum_start);
  const std::uint16_t sum = wire::checksum(tcp);
  tcp[o.csum_offset] = static_cast<std::byte>(sum >> 8);
  tcp[o.csum_offset + 1] = static_cast<std::byte>(sum & 0xff);
  return wire::verify_tcp_checksum(tcp, kOurIp, kPeerIp);
}

TEST_SUITE("stack.offload") {
  TEST_CASE("a SYN,ACK leaves with a partial checksum the device completes correctly") {
    OffloadHarness h;
    h.receive(tcp_frame(client_syn()));
    REQUIRE(h.stack.tx().size() == 1);
    const TxOffload o = h.stack.tx().offload(0);
    CHECK(o.partial_checksum);
    CHECK(o.csum_start == kTcpStart);
    CHECK(o.csum_offset == wire::kTcpChecksumOffset);
    CHECK(o.gso_size == 0);
    CHECK(completes_to_valid_checksum(h.drain().front(), o));
  }

  TEST_CASE("a bad checksum is dropped unless the kernel vouches for the frame") {
    OffloadHarness h;
    h.receive(tcp_frame(client_syn(), true));
    CHECK(h.stats.get(Drop::TcpBadChecksum) == 1);
    CHECK(h.stack.tx().empty());
    h.stack.on_frame(h.now, tcp_frame(client_syn(), true), RxOffload{.checksum_trusted = true});
    CHECK(h.stack.tx().size() == 1);  // the SYN,ACK
  }

  TEST_CASE("an uncut 20000-byte segment is taken whole and echoed as one TSO frame") {
    OffloadHarness h;
    h.receive(tcp_frame(client_syn()));
    h.drain();
    h.receive(tcp_frame(client(wire::TcpFlags::kAck, kClientIss + 1, kServerIss + 1)));
    const Buffer data = pattern(20000);
    h.stack.on_frame(h.now,
                     tcp_frame(client(wire::TcpFlags::kAck | wire::TcpFlags::kPsh, kClientIss + 1,
                                      kServerIss + 1, data)),
                     RxOffload{.checksum_trusted = true});
    CHECK(h.stats.get(Counter::RxOffloadedSegments) == 1);
    CHECK(h.stats.get(Counter::TcpBytesReceived) == 20000);
    // The initial window is ten segments: one frame with all of them, for the device to cut.
    REQUIRE(h.stack.tx().size() >= 1);
    const TxOffload o = h.stack.tx().offload(0);
    CHECK(o.gso_size == 1460);
    CHECK(o.partial_checksum);
    const Buffer frame = h.drain().front();
    CHECK(frame.size() == kTcpStart + 20 + 10 * 1460);
    CHECK(completes_to_valid_checksum(frame, o));
    CHECK(h.stats.get(Counter::TxTsoSegments) == 1);
  }

  TEST_CASE("tx_tso_segments counts only TSO frames the device took") {
    // Regression: it was counted when TCP handed the segment over, before the route, the
    // neighbour or the TAP could refuse it.
    OffloadHarness h;
    const Buffer data = pattern(4 * 1460);
    auto seg = [&](wire::Ipv4Addr to) {
      return std::pair{tcp::FourTuple{to, kClientPort, kOurIp, kEchoPort},
                       wire::TcpSegment{.src_port = kEchoPort,
                                        .dst_port = kClientPort,
                                        .seq = wire::SeqNum{kServerIss + 1},
                                        .ack = wire::SeqNum{kClientIss + 1},
                                        .flags = wire::TcpFlags{wire::TcpFlags::kAck},
                                        .window = 65535,
                                        .payload = data,
                                        .tso_segment_size = 1460}};
    };
    SUBCASE("off the subnet with no gateway: no route") {
      const auto [id, s] = seg(ip(10, 0, 1, 2));
      h.stack.tcp_out().send(id, s);
      CHECK(drops_between({}, h.stats) == "ipv4_no_route+1");
    }
    SUBCASE("an on-subnet neighbour that never answers ARP: parked, then dropped") {
      const auto [id, s] = seg(ip(10, 0, 0, 9));
      h.stack.tcp_out().send(id, s);
      h.drain();  // the ARP request
      for (int i = 0; i < 5; ++i) {
        h.advance(std::chrono::seconds{1});
        h.drain();  // the retries
      }
      CHECK(drops_between({}, h.stats) == "arp_unresolved+1");
    }
    SUBCASE("the TAP refuses the write") {
      const auto [id, s] = seg(kPeerIp);
      h.stack.tcp_out().send(id, s);
      REQUIRE(h.stack.tx().size() == 1);
      CHECK(h.stack.tx().offload(0).gso_size == 1460);
      h.stack.count_tx(0, false);
      h.stack.tx().clear();
      CHECK(drops_between({}, h.stats) == "tx_error+1");
      CHECK(h.stats.get(Counter::TxFrames) == 0);
    }
    CHECK(h.stats.get(Counter::TxTsoSegments) == 0);
    // And once it does go, it counts.
    const auto [id, s] = seg(kPeerIp);
    h.stack.tcp_out().send(id, s);
    h.drain();
    CHECK(h.stats.get(Counter::TxTsoSegments) == 1);
  }

  TEST_CASE("without offload the same echo leaves in frames that fit the MTU, fully summed") {
    StackHarness h;
    auto echo = service::make_factory(service::Kind::Echo);
    h.stack.listen(h.now, kEchoPort, *echo);
    h.learn(kPeerIp, kPeerMac);
    h.receive(tcp_frame(client_syn()));
    h.drain();
    h.receive(tcp_frame(client(wire::TcpFlags::kAck, kClientIss + 1, kServerIss + 1)));
    const Buffer data = pattern(4000);
    h.receive(tcp_frame(
        client(wire::TcpFlags::kAck | wire::TcpFlags::kPsh, kClientIss + 1, kServerIss + 1, data)));
    const auto frames = h.drain();
    REQUIRE(frames.size() == 2);  // two full segments; Nagle holds the rest until an ACK
    for (const auto& f : frames) {
      CHECK(f.size() <= wire::kEthHeaderLen + 1500);
      CHECK(wire::verify_tcp_checksum(wire::Bytes{f}.subspan(kTcpStart), kOurIp, kPeerIp));
    }
  }
}

}  // namespace
}  // namespace tapsrv::test
