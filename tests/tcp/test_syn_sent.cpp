// SYN_SENT (RFC 9293 §3.10.7.3): the answers to our active open, RSTs acceptable or not
// (RFC 5961 §3.2), bad ACKs, and the simultaneous open of Figure 8 through SYN_RECEIVED, with
// the engine's half-open count (what the SYN backlog limits) checked on the way.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

/// The peer's SYN,ACK (or, in a simultaneous open, its SYN repeated with an ACK), with options.
wire::TcpSegment syn_ack(std::uint32_t seq, std::uint32_t a) {
  auto s = segment(kSyn | kAck, seq, a);
  s.options.mss = kMss;
  s.options.window_scale = 7;
  s.options.sack_permitted = true;
  return s;
}

/// SYN_SENT, the SYN taken: what it offers is checked once here.
TcpPeer syn_sent() {
  TcpPeer p;
  p.listen(kPort);  // a listener beside the active open, for the backlog checks
  REQUIRE(p.connect() != nullptr);
  CHECK(p.state() == State::SynSent);
  const Sent s = p.expect({.flags = kSyn, .seq = kLocalIss, .len = 0});
  CHECK(s.seg.options.mss == kMss);
  CHECK(s.seg.options.sack_permitted);
  CHECK(s.seg.options.window_scale.has_value());
  CHECK(s.seg.options.timestamps.has_value());
  p.expect_nothing();
  CHECK(p.engine().half_open_count() == 0);
  p.mark();
  return p;
}

/// A SYN at the listener from another port: answered from the backlog, not with a cookie.
void check_backlog_has_room(TcpPeer& p, std::size_t half_open_before) {
  p.send(from_port(syn(9000), kPeerPort + 1));
  p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = 9001, .to_port = kPeerPort + 1});
  CHECK(p.stats().get(Counter::TcpSynCookiesSent) == 0);
  CHECK(p.engine().half_open_count() == half_open_before + 1);
}

TEST_SUITE("tcp.syn_sent") {
  TEST_CASE("a SYN,ACK acknowledging our SYN establishes; we ACK it (§3.10.7.3 fourth)") {
    TcpPeer p = syn_sent();
    p.send(syn_ack(kRemoteIss, kLocalIss + 1));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq, .len = 0});
    p.expect_nothing();
    CHECK(p.state() == State::Established);
    CHECK(p.app().log == "established");
    CHECK(p.drops() == "");
    CHECK(p.engine().half_open_count() == 0);
    CHECK(p.transitions() ==
          "CLOSED->LISTEN(listen) CLOSED->SYN_SENT(connect) SYN_SENT->ESTABLISHED(segment)");
    p.check_invariants();
  }

  TEST_CASE("an RST with an acceptable ACK refuses the connection: CLOSED, no answer") {
    TcpPeer p = syn_sent();
    p.send(segment(kRst | kAck, 0, kLocalIss + 1, 0));
    p.expect_nothing();
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_resets_received+1");
    CHECK(p.engine().half_open_count() == 0);
    p.advance(10s);  // no timer of the closed connection is left
    p.expect_nothing();
  }

  TEST_CASE("an RST with an unacceptable ACK is dropped, unanswered (§3.10.7.3 first)") {
    std::uint32_t bad_ack = 0;
    SUBCASE("SEG.ACK = ISS") { bad_ack = kLocalIss; }
    SUBCASE("SEG.ACK > SND.NXT") { bad_ack = kLocalIss + 2; }
    SUBCASE("SEG.ACK far below ISS") { bad_ack = kLocalIss - 100000; }
    CAPTURE(bad_ack);
    TcpPeer p = syn_sent();
    p.send(segment(kRst | kAck, 0, bad_ack, 0));
    p.expect_nothing();  // "if the RST bit is set, drop the segment and return"
    CHECK(p.state() == State::SynSent);
    CHECK(p.drops() == "tcp_ack_too_new+1");
    // The open goes on: the real SYN,ACK still establishes.
    p.send(syn_ack(kRemoteIss, kLocalIss + 1));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    CHECK(p.state() == State::Established);
  }

  TEST_CASE("an RST without ACK is dropped (RFC 5961 §3.2: only an ACK of our SYN proves it)") {
    TcpPeer p = syn_sent();
    p.send(rst(kRemoteIss));
    p.expect_nothing();
    CHECK(p.state() == State::SynSent);
    CHECK(p.drops() == "tcp_rst_challenged+1");
  }

  TEST_CASE("a bad ACK is answered by <SEQ=SEG.ACK><CTL=RST>; the SYN is still resent") {
    std::uint8_t flags = kAck;
    std::uint32_t bad_ack = 0;
    SUBCASE("ACK beyond SND.NXT") { bad_ack = kLocalIss + 100; }
    SUBCASE("ACK of ISS itself") { bad_ack = kLocalIss; }
    SUBCASE("SYN,ACK beyond SND.NXT") {
      flags = kSyn | kAck;
      bad_ack = kLocalIss + 2;
    }
    SUBCASE("SYN,ACK of an old ISS") {
      flags = kSyn | kAck;
      bad_ack = kLocalIss - 5000;
    }
    CAPTURE(bad_ack);
    TcpPeer p = syn_sent();
    p.send(segment(flags, kRemoteIss, bad_ack));
    p.expect({.flags = kRst, .seq = bad_ack, .ack = 0, .len = 0});
    p.expect_nothing();
    CHECK(p.state() == State::SynSent);
    CHECK(p.drops() == "tcp_ack_too_new+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
    p.advance(1s);  // RFC 6298 (2.1)
    p.expect({.flags = kSyn, .seq = kLocalIss});
    CHECK(p.engine().half_open_count() == 0);
  }

  TEST_CASE("a segment with neither SYN nor RST nor ACK is dropped (§3.10.7.3 fifth)") {
    TcpPeer p = syn_sent();
    const Buffer payload = pattern(10);
    p.send(segment(kPsh, kRemoteIss, 0, kPeerWindow, payload));
    p.expect_nothing();
    CHECK(p.state() == State::SynSent);
    CHECK(p.drops() == "tcp_no_ack+1");
  }

  TEST_CASE("MUST-10 simultaneous open: SYN_SENT -> SYN_RECEIVED -> ESTABLISHED (Figure 8)") {
    TcpPeer p = syn_sent();
    p.app().to_write = pattern(7);  // written once established
    // Line 3: the peer's SYN crosses ours; we answer SYN,ACK (line 5).
    p.send(syn(kRemoteIss, {.wscale = 7, .sack = true}));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1, .len = 0});
    p.expect_nothing();
    CHECK(p.state() == State::SynReceived);
    CHECK(p.engine().half_open_count() == 1);
    SUBCASE("the peer's SYN,ACK establishes (line 6), as Linux's does") {
      p.send(syn_ack(kRemoteIss, kLocalIss + 1));
      CHECK(p.state() == State::Established);
      CHECK(p.drops() == "");
    }
    SUBCASE("the peer's ACK establishes") {
      p.send(ack(kPeerSeq, kOurSeq));
      CHECK(p.state() == State::Established);
      CHECK(p.drops() == "");
    }
    SUBCASE("our SYN,ACK is resent on RTO, then the ACK establishes") {
      p.advance(1s);
      p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
      p.send(ack(kPeerSeq, kOurSeq));
      CHECK(p.state() == State::Established);
    }
    CHECK(p.app().log == "established");
    CHECK(p.engine().half_open_count() == 0);
    // Data flows on it, both ways.
    const auto sent = p.take_all();
    REQUIRE(!sent.empty());
    CHECK(sent.back().seq() == kOurSeq);
    CHECK(sent.back().payload == pattern(7));
    const Buffer hello = pattern(5);
    p.send(data(kPeerSeq, kOurSeq + 7, hello));
    CHECK(p.app().received == hello);
    p.advance(50ms);
    p.expect({.flags = kAck, .seq = kOurSeq + 7, .ack = kPeerSeq + 5});
    check_backlog_has_room(p, 0);
    p.check_invariants();
  }

  TEST_CASE("simultaneous open reset or timed out in SYN_RECEIVED: CLOSED, the count back at 0") {
    TcpPeer p = syn_sent();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    CHECK(p.engine().half_open_count() == 1);
    SUBCASE("RST at RCV.NXT: an active open closes, not back to LISTEN (§3.10.7.4 second)") {
      p.send(rst(kPeerSeq));
    }
    SUBCASE("the SYN,ACK retransmissions run out") {
      p.advance(60s);
      p.take_all();
    }
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().half_open_count() == 0);
    check_backlog_has_room(p, 0);
  }

  TEST_CASE("the backlog still has room after many simultaneous opens") {
    // With the count wrapped below zero, every later SYN at a listener got a cookie.
    TcpPeer p;
    p.listen(kPort);
    for (std::uint16_t i = 0; i < 6; ++i) {
      const auto port = static_cast<std::uint16_t>(kPeerPort + 10 + i);
      REQUIRE(p.connect(port) != nullptr);
      p.send(from_port(syn(kRemoteIss), port));
      p.send(from_port(ack(kPeerSeq, kOurSeq), port));
      CHECK(p.state(port) == State::Established);
    }
    p.take_all();
    CHECK(p.engine().half_open_count() == 0);
    check_backlog_has_room(p, 0);
  }
}

}  // namespace
}  // namespace tapsrv::test
