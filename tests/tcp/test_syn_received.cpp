// SYN_RECEIVED (RFC 9293 §3.10.7.2 and §3.10.7.4): the SYN-ACK, its retransmission and
// give-up, and how the handshake completes or is undone.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

TEST_SUITE("tcp.syn_received") {
  TEST_CASE("the seed: CLOSED->LISTEN->SYN_RECEIVED->ESTABLISHED->CLOSE_WAIT->LAST_ACK->CLOSED") {
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Echo);
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1, .window = 16384});
    CHECK(p.state() == State::SynReceived);
    p.send(ack(kPeerSeq, kOurSeq));
    CHECK(p.state() == State::Established);
    p.expect_nothing();

    const Buffer hello = pattern(5);
    p.send(data(kPeerSeq, kOurSeq, hello));
    const Sent echo =
        p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .ack = kPeerSeq + 5, .len = 5});
    CHECK(echo.payload == hello);

    p.send(fin(kPeerSeq + 5, kOurSeq + 5));  // acknowledges the echo and closes
    CHECK(p.state() == State::LastAck);
    p.expect({.flags = kAck | kFin, .seq = kOurSeq + 5, .ack = kPeerSeq + 6});
    p.send(ack(kPeerSeq + 6, kOurSeq + 6));
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);

    CHECK(p.transitions() ==
          "CLOSED->LISTEN(listen) LISTEN->SYN_RECEIVED(segment) SYN_RECEIVED->ESTABLISHED(segment) "
          "ESTABLISHED->CLOSE_WAIT(segment) CLOSE_WAIT->LAST_ACK(app_close) "
          "LAST_ACK->CLOSED(segment)");
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+5 tcp_segments_out+3 tcp_bytes_received+5 tcp_bytes_sent+5 "
          "tcp_connections_accepted+1 tcp_connections_established+1");
    p.check_invariants();
  }

  TEST_CASE("SYN-ACK is retransmitted on RTO with exponential backoff; the final ACK establishes") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    CHECK(p.engine().next_deadline() == Instant{} + 1s);  // RFC 6298 (2.1): RTO 1 s
    p.advance(999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    p.advance(1999ms);  // RFC 6298 (5.5): doubled
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss});
    p.advance(3999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss});
    p.send(ack(kPeerSeq, kOurSeq));
    CHECK(p.state() == State::Established);
    CHECK(p.engine().next_deadline() == std::nullopt);
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+4 tcp_connections_accepted+1 "
          "tcp_connections_established+1 tcp_retransmits+3 tcp_retransmit_timeouts+3");
  }

  TEST_CASE("a retransmitted client SYN gets the SYN-ACK again at once, unchanged") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    const Sent first = p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    p.advance(300ms);
    p.send(syn(kRemoteIss));
    const Sent again = p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    CHECK(again.seg.window == first.seg.window);
    CHECK(again.seg.options.mss == first.seg.options.mss);
    CHECK(p.state() == State::SynReceived);
    CHECK(p.engine().connection_count() == 1);
    p.send(ack(kPeerSeq, kOurSeq));
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+2 tcp_connections_accepted+1 "
          "tcp_connections_established+1");
  }

  // Linux answers a repeated SYN in SYN_RECV with a SYN,ACK at most once per
  // tcp_invalid_ratelimit (500 ms), tcp_check_req -> tcp_oow_rate_limited
  // (TCPACKSkippedSynRecv): a flood of spoofed copies must not turn us into an amplifier.
  TEST_CASE("repeated SYNs get at most one SYN,ACK per 500 ms; the rest are counted") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    p.advance(100ms);
    for (int i = 0; i < 10; ++i) { p.send(syn(kRemoteIss)); }
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    p.expect_nothing();
    p.advance(499ms);
    p.send(syn(kRemoteIss));
    p.expect_nothing();
    p.advance(1ms);  // 500 ms after the last one answered
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    p.send(ack(kPeerSeq, kOurSeq));
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+14 tcp_segments_out+3 tcp_connections_accepted+1 "
          "tcp_connections_established+1 tcp_syn_acks_limited+10");
  }

  TEST_CASE("after max_synack_retransmits the half-open connection goes away silently") {
    TcpPeer p = TcpPeer::listening();  // max_synack_retransmits = 3
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.advance(1s);
    p.expect({.flags = kSyn | kAck});
    p.advance(2s);
    p.expect({.flags = kSyn | kAck});
    p.advance(4s);
    p.expect({.flags = kSyn | kAck});
    p.advance(8s - 1ms);
    CHECK(p.state() == State::SynReceived);
    p.advance(1ms);
    p.expect_nothing();  // no RST: like Linux, the request just expires
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions() ==
          "CLOSED->LISTEN(listen) LISTEN->SYN_RECEIVED(segment) SYN_RECEIVED->LISTEN(timeout)");
    // The listener is still there: a late ACK is now answered as LISTEN answers it.
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect({.flags = kRst, .seq = kOurSeq});
    CHECK(p.drops() == "tcp_listen_no_syn+1");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+5 tcp_connections_accepted+1 tcp_retransmits+3 "
          "tcp_retransmit_timeouts+4 tcp_resets_sent+1");
  }

  TEST_CASE("an ACK of the wrong sequence number in SYN_RECEIVED gets <SEQ=SEG.ACK><CTL=RST>") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.mark();
    SUBCASE("acknowledges nothing (SEG.ACK = ISS)") {
      p.send(ack(kPeerSeq, kLocalIss));
      p.expect({.flags = kRst, .seq = kLocalIss});
    }
    SUBCASE("acknowledges more than we sent") {
      p.send(ack(kPeerSeq, kLocalIss + 2));
      p.expect({.flags = kRst, .seq = kLocalIss + 2});
    }
    // The half-open connection survives (RFC 9293 §3.10.7.4 fifth): the real peer completes it.
    CHECK(p.state() == State::SynReceived);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
    p.send(ack(kPeerSeq, kOurSeq));
    CHECK(p.state() == State::Established);
  }

  TEST_CASE("an exact RST in SYN_RECEIVED returns to LISTEN; the port still accepts") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.send(rst(kPeerSeq));
    p.expect_nothing();
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions() ==
          "CLOSED->LISTEN(listen) LISTEN->SYN_RECEIVED(segment) SYN_RECEIVED->LISTEN(segment)");
    p.send(syn(kRemoteIss + 1000));
    p.expect({.flags = kSyn | kAck, .ack = kRemoteIss + 1001});
    CHECK(p.state() == State::SynReceived);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+2 tcp_connections_accepted+2 tcp_resets_received+1");
  }

  TEST_CASE("the backlog slot of a reset SYN_RECEIVED connection is released") {
    auto cfg = test_config();
    cfg.syn_backlog = 1;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.send(rst(kPeerSeq));
    p.send(from_port(syn(77), 1234));
    p.expect({.flags = kSyn | kAck, .ack = 78, .to_port = 1234});
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+2 tcp_connections_accepted+2 tcp_resets_received+1");
  }

  TEST_CASE("the backlog slot of an expired SYN_RECEIVED connection is released") {
    auto cfg = test_config();
    cfg.syn_backlog = 1;
    cfg.max_synack_retransmits = 0;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.advance(1s);
    CHECK(p.state() == State::Closed);
    p.send(from_port(syn(77), 1234));
    p.expect({.flags = kSyn | kAck, .to_port = 1234});
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+2 tcp_connections_accepted+2 "
          "tcp_retransmit_timeouts+1");
  }

  TEST_CASE("a final ACK that carries data establishes and delivers the data") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    const Buffer payload = pattern(300);
    p.send(data(kPeerSeq, kOurSeq, payload));
    CHECK(p.state() == State::Established);
    CHECK(p.app().received == payload);
    CHECK(p.app().log == "established readable");
    p.expect_nothing();  // the ACK is delayed
    p.advance(40ms);
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq + 300});
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_received+300 "
          "tcp_connections_accepted+1 tcp_connections_established+1");
  }

  TEST_CASE("a segment without ACK in SYN_RECEIVED is dropped (RFC 9293 fifth)") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.mark();
    const Buffer payload = pattern(10);
    p.send(segment(kPsh, kPeerSeq, 0, 1000, payload));
    p.expect_nothing();
    CHECK(p.state() == State::SynReceived);
    CHECK(p.drops() == "tcp_no_ack+1");
    CHECK(p.events() == "tcp_segments_in+1");
  }

  TEST_CASE("the handshake and every counter with a second, independent connection") {
    TcpPeer p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    p.send(from_port(syn(90000), 2222));
    p.expect({.flags = kSyn | kAck, .ack = kRemoteIss + 1, .to_port = kPeerPort});
    p.expect({.flags = kSyn | kAck, .ack = 90001, .to_port = 2222});
    p.send(from_port(ack(90001, kOurSeq), 2222));
    CHECK(p.state(2222) == State::Established);
    CHECK(p.state() == State::SynReceived);
    p.send(rst(kPeerSeq));
    CHECK(p.state() == State::Closed);
    CHECK(p.state(2222) == State::Established);
    p.check_invariants();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+4 tcp_segments_out+2 tcp_connections_accepted+2 "
          "tcp_connections_established+1 tcp_resets_received+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
