// Segmentation offload: with tso_max_payload set, one segment carries as much as the windows
// allow (whole MSS multiples unless it ends the data) and asks the device to cut it at the MSS;
// and stretch ACKs covering many segments open the congestion window by every byte they ack.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

tcp::Config tso_config() {
  tcp::Config c = test_config();
  c.tso_max_payload = 65535 - 20 - 60;
  c.send_buffer = 64 * 1024;
  return c;
}

TcpPeer sending(std::size_t n, std::uint16_t window, const tcp::Config& cfg) {
  TcpPeer p = TcpPeer::listening(kPort, cfg);
  p.app().to_write = pattern(n);
  p.handshake({}, window);
  return p;
}

TEST_SUITE("tcp.tso") {
  TEST_CASE("all the queued data leaves as one segment marked for cutting at the MSS") {
    TcpPeer p = sending(12000, kPeerWindow, tso_config());
    const Sent s = p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .len = 12000});
    CHECK(s.seg.tso_segment_size == kMss);
    CHECK(s.payload == pattern(12000));
    p.expect_nothing();
  }

  TEST_CASE("the congestion window cuts a segment at an MSS boundary, not mid-segment") {
    TcpPeer p = sending(16000, kPeerWindow, tso_config());
    const Sent first = p.expect({.flags = kAck, .seq = kOurSeq, .len = 10 * kMss});
    CHECK(first.seg.tso_segment_size == kMss);
    p.expect_nothing();
    p.send(ack(kPeerSeq, kOurSeq + 10 * kMss));
    const Sent rest = p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 10 * kMss, .len = 1400});
    CHECK(rest.seg.tso_segment_size == 0);  // one MSS or less: nothing to cut
  }

  TEST_CASE("the peer's window cuts at an MSS boundary and the runt waits (sender SWS)") {
    TcpPeer p = sending(12000, 5000, tso_config());
    p.expect({.flags = kAck, .seq = kOurSeq, .len = 3 * kMss});
    p.expect_nothing();
  }

  TEST_CASE("one stretch ACK for many segments grows slow start by every byte it acks") {
    TcpPeer p = sending(60000, kPeerWindow, tso_config());
    p.expect({.seq = kOurSeq, .len = 10 * kMss});
    const auto before = p.conn()->cwnd();
    p.send(ack(kPeerSeq, kOurSeq + 10 * kMss));
    CHECK(p.conn()->cwnd() == before + 10 * kMss);
    p.expect({.seq = kOurSeq + 10 * kMss, .len = 20 * kMss});
    p.send(ack(kPeerSeq, kOurSeq + 30 * kMss));
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 30 * kMss, .len = 60000 - 30 * kMss});
  }

  TEST_CASE("without TSO the same data leaves in MSS-sized segments") {
    tcp::Config cfg = tso_config();
    cfg.tso_max_payload = 0;
    TcpPeer p = sending(12000, kPeerWindow, cfg);
    for (std::uint32_t i = 0; i < 8; ++i) {
      const Sent s = p.expect({.seq = kOurSeq + i * kMss, .len = kMss});
      CHECK(s.seg.tso_segment_size == 0);
    }
    p.expect_nothing();  // Nagle holds the short rest while data is in flight
    p.send(ack(kPeerSeq, kOurSeq + 8 * kMss));
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 8 * kMss, .len = 12000 - 8 * kMss});
  }
}

}  // namespace
}  // namespace tapsrv::test
