// Sending under loss, driven by crafted SACKs: RFC 6675 loss detection and recovery, RACK
// (RFC 8985 §6) for lost retransmissions, the timeout rule of RFC 6675 §5.1, DSACK undo
// (RFC 2883, Linux tcp_try_undo_dsack) and PRR (RFC 6937).
#include <doctest/doctest.h>

#include <initializer_list>
#include <utility>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::Connection;

/// An ACK from the peer with SACK blocks [left, right), the first one first on the wire.
wire::TcpSegment sack_ack(std::uint32_t a,
                          std::initializer_list<std::pair<std::uint32_t, std::uint32_t>> blocks) {
  wire::TcpSegment s = ack(kPeerSeq, a);
  for (const auto& [left, right] : blocks) {
    s.options.sack[s.options.sack_count++] = {wire::SeqNum{left}, wire::SeqNum{right}};
  }
  return s;
}

/// Established with SACK, the TestApp having queued `segments` full segments; they are taken.
TcpPeer sending(std::uint32_t segments) {
  TcpPeer p = TcpPeer::listening(kPort);
  p.app().to_write = pattern(segments * kMss);
  p.handshake({.sack = true});
  const std::uint32_t first_flight = std::min<std::uint32_t>(segments, 10);  // RFC 6928
  for (std::uint32_t i = 0; i < first_flight; ++i) {
    p.expect({.seq = kOurSeq + i * kMss, .len = kMss});
  }
  p.mark();
  return p;
}

std::uint32_t seg(std::uint32_t i) { return kOurSeq + i * kMss; }

std::uint64_t counter(const TcpPeer& p, Counter c) { return p.stats().get(c); }

TEST_SUITE("tcp.recovery") {
  TEST_CASE("one ACK that SACKs nine segments above a hole starts recovery at once (bytes count)") {
    TcpPeer p = sending(10);
    p.advance(10ms);
    p.send(sack_ack(seg(0), {{seg(1), seg(10)}}));  // a single duplicate ACK
    p.expect({.flags = kAck, .seq = seg(0), .len = kMss});
    p.expect_nothing();
    CHECK(p.conn()->recovery() == Connection::Recovery::Fast);
    CHECK(counter(p, Counter::TcpFastRetransmits) == 1);
    p.send(ack(kPeerSeq, seg(10)));
    CHECK(p.conn()->recovery() == Connection::Recovery::Open);
    CHECK(p.conn()->next_deadline() == std::nullopt);
    CHECK(p.drops() == "");
  }

  TEST_CASE("every lost range within the window is resent at once, not one per round trip") {
    TcpPeer p = sending(10);
    p.advance(10ms);
    // Segments 0, 3 and 6 are missing.
    p.send(sack_ack(seg(0), {{seg(7), seg(10)}, {seg(4), seg(6)}, {seg(1), seg(3)}}));
    p.expect({.seq = seg(0), .len = kMss});
    p.expect({.seq = seg(3), .len = kMss});
    p.expect({.seq = seg(6), .len = kMss});
    p.expect_nothing();
    CHECK(counter(p, Counter::TcpRetransmits) == 3);
    CHECK(counter(p, Counter::TcpFastRetransmits) == 1);  // one recovery episode
    p.send(ack(kPeerSeq, seg(10)));
    CHECK(p.conn()->recovery() == Connection::Recovery::Open);
    CHECK(p.drops() == "");
  }

  TEST_CASE(
      "RACK's timer finds a hole too small for DupThresh; the RTO then resends only what "
      "the peer lacks (RFC 6675 §5.1)") {
    TcpPeer p = sending(4);  // sent together at t = 0
    p.advance(10ms);
    p.send(sack_ack(seg(0), {{seg(2), seg(4)}}));  // two segments above the hole: not enough
    p.expect_nothing();
    // RACK: RTT 10 ms, reo_wnd = min_RTT / 4 = 2.5 ms (no recovery yet, fewer than 3 SACKed).
    p.advance(2ms);
    p.expect_nothing();
    p.advance(1ms);
    // Both are lost now, but a timer delivers nothing: PRR lets one segment go, as Linux's
    // tcp_rack_reo_timeout counts one delivery.
    p.expect({.seq = seg(0), .len = kMss});
    p.expect_nothing();
    // The retransmission is lost, and nothing follows it: only the RTO can tell.
    p.advance(1s);
    p.expect({.seq = seg(0), .len = kMss});  // cwnd is one segment after a timeout
    p.expect_nothing();
    CHECK(p.conn()->recovery() == Connection::Recovery::Loss);
    p.send(sack_ack(seg(1), {{seg(2), seg(4)}}));
    p.expect({.seq = seg(1), .len = kMss});
    p.expect_nothing();  // segments 2 and 3 are never sent again
    p.send(ack(kPeerSeq, seg(4)));
    p.expect_nothing();
    CHECK(p.conn()->recovery() == Connection::Recovery::Open);
    CHECK(counter(p, Counter::TcpRetransmits) == 3);
    CHECK(counter(p, Counter::TcpRetransmitTimeouts) == 1);
    CHECK(p.drops() == "");
  }

  // Seen at 5% loss without offload: a timestamp RTT of 0 ms made the minimum RTT 1 us, so
  // RACK took every early copy's SACK for its retransmission's (RFC 8985 §6.2 step 2 needs
  // min_RTT), marked retransmissions lost within a millisecond and resent data 5 times over.
  TEST_CASE("an ACK of resent data only, in the millisecond it went, times no RTT below 1 ms") {
    TcpPeer p = TcpPeer::listening(kPort);
    constexpr std::uint32_t kLen = kMss - 12;  // the timestamps option rides on every segment
    const auto at = [](std::uint32_t i) { return kOurSeq + i * kLen; };
    p.app().to_write = pattern(4 * kLen);
    p.handshake({.sack = true, .ts = wire::Timestamps{400, 0}});
    std::uint32_t tsval = 0;
    for (std::uint32_t i = 0; i < 4; ++i) {
      tsval = p.expect({.seq = at(i), .len = kLen}).seg.options.timestamps->value;
    }
    p.advance(10ms);
    wire::TcpSegment first = sack_ack(at(0), {{at(1), at(4)}});
    first.options.timestamps = wire::Timestamps{401, tsval};
    p.send(first);
    CHECK(p.conn()->min_rtt() == 10ms);
    const auto resent = p.expect({.seq = at(0), .len = kLen});
    wire::TcpSegment second = ack(kPeerSeq, at(4));
    second.options.timestamps = wire::Timestamps{402, resent.seg.options.timestamps->value};
    p.send(second);  // at once: the echoed timestamp is this very millisecond
    // RFC 7323 §4.1 timestamps tick in milliseconds: less than one tick is one tick (Linux
    // tcp_ack_update_rtt), never zero.
    CHECK(p.conn()->min_rtt() == 1ms);
    CHECK(p.drops() == "");
  }

  TEST_CASE("a lost retransmission is found by RACK once later data is SACKed, before the RTO") {
    TcpPeer p = sending(11);  // 10 go at once (cwnd), the 11th waits
    p.advance(10ms);
    p.send(sack_ack(seg(0), {{seg(1), seg(10)}}));
    // The fast retransmit, then the segment that was waiting, both within PRR's window.
    p.expect({.seq = seg(0), .len = kMss});
    p.expect({.seq = seg(10), .len = kMss});
    p.expect_nothing();
    p.advance(10ms);
    // The new segment got through, the retransmission sent with it did not.
    p.send(sack_ack(seg(0), {{seg(1), seg(11)}}));
    p.expect({.seq = seg(0), .len = kMss});
    p.expect_nothing();
    CHECK(counter(p, Counter::TcpLostRetransmits) == 1);
    CHECK(counter(p, Counter::TcpRetransmitTimeouts) == 0);
    p.send(ack(kPeerSeq, seg(11)));
    CHECK(p.conn()->recovery() == Connection::Recovery::Open);
    CHECK(p.drops() == "");
  }

  TEST_CASE("a DSACK for every retransmission undoes the reduction (RFC 2883 §5)") {
    TcpPeer p = sending(10);
    p.advance(10ms);
    const std::uint32_t before = p.conn()->cwnd();
    p.send(sack_ack(seg(0), {{seg(1), seg(10)}}));
    p.expect({.seq = seg(0), .len = kMss});
    CHECK(p.conn()->cwnd() < before);
    // Segment 0 was only delayed: the peer got both copies and says so below SEG.ACK.
    p.send(sack_ack(seg(10), {{seg(0), seg(1)}}));
    CHECK(counter(p, Counter::TcpDsacksReceived) == 1);
    CHECK(counter(p, Counter::TcpSpuriousUndos) == 1);
    CHECK(p.conn()->recovery() == Connection::Recovery::Open);
    CHECK(p.conn()->cwnd() >= before);
    CHECK(p.drops() == "");
  }

  TEST_CASE(
      "PRR: while pipe exceeds ssthresh, sending follows deliveries by ssthresh / RecoverFS "
      "(RFC 6937 §3)") {
    tcp::Config cfg = test_config();
    cfg.send_buffer = 64 * 1024;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    p.app().to_write = pattern(40 * kMss);
    p.handshake({.sack = true});
    CHECK(p.take_all().size() == 10);  // the initial window
    p.advance(10ms);
    // Segment 0 is lost; the peer SACKs one more segment per ACK. The first two ACKs let new
    // data go as segments leave the network (RFC 6675 pipe, like RFC 3042's limited transmit).
    p.send(sack_ack(seg(0), {{seg(1), seg(2)}}));
    p.send(sack_ack(seg(0), {{seg(1), seg(3)}}));
    CHECK(p.conn()->recovery() == Connection::Recovery::Open);
    p.take_all();
    p.send(sack_ack(seg(0), {{seg(1), seg(4)}}));  // DupThresh: recovery
    REQUIRE(p.conn()->recovery() == Connection::Recovery::Fast);
    const std::uint64_t recover_fs = p.conn()->snd().nxt - p.conn()->snd().una;
    const std::uint64_t ssthresh = p.conn()->ssthresh();
    std::size_t sent = p.take_all().size();
    CHECK(sent == 1);  // the fast retransmit
    for (std::uint32_t i = 4; i <= 9; ++i) {
      p.send(sack_ack(seg(0), {{seg(1), seg(1 + i)}}));
      sent += p.take_all().size();
    }
    // Seven segments delivered since recovery began.
    const std::uint64_t delivered = 7 * kMss;
    const std::uint64_t allowed = (delivered * ssthresh + recover_fs - 1) / recover_fs;
    CHECK(sent * kMss <= allowed + kMss);
    CHECK(sent * kMss + kMss >= allowed);
    CHECK(sent < 7);  // fewer than delivered: the window comes down
    CHECK(p.drops() == "");
  }
}

}  // namespace
}  // namespace tapsrv::test
