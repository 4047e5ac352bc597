// Closing (RFC 9293 §3.6, §3.10.4, §3.10.7.4 eighth): active, passive and simultaneous close,
// FIN retransmission, FIN_WAIT_2 timeout and TIME_WAIT.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

constexpr const char* kOpen =
    "CLOSED->LISTEN(listen) LISTEN->SYN_RECEIVED(segment) SYN_RECEIVED->ESTABLISHED(segment) ";

TEST_SUITE("tcp.close") {
  TEST_CASE("active close: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT -> CLOSED after 2 MSL") {
    TcpPeer p = TcpPeer::fin_wait_1();
    p.send(ack(kPeerSeq, kOurSeq + 1));
    CHECK(p.state() == State::FinWait2);
    p.expect_nothing();
    p.send(fin(kPeerSeq, kOurSeq + 1));
    CHECK(p.state() == State::TimeWait);
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
    CHECK(p.engine().next_deadline() == p.now() + 1s);  // 2 * msl (500 ms)
    p.advance(999ms);
    CHECK(p.state() == State::TimeWait);
    p.advance(1ms);
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions() == std::string{kOpen} +
                                 "ESTABLISHED->FIN_WAIT_1(app_close) "
                                 "FIN_WAIT_1->FIN_WAIT_2(segment) FIN_WAIT_2->TIME_WAIT(segment) "
                                 "TIME_WAIT->CLOSED(timeout)");
    CHECK(p.app().log == "established readable closed");
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+1 tcp_time_wait_expired+1");
  }

  TEST_CASE("the FIN follows the queued data") {
    TcpPeer p = TcpPeer::listening();
    p.app().to_write = pattern(100);
    p.app().close_after_write = true;
    p.handshake();
    const Sent d = p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .ack = kPeerSeq, .len = 100});
    CHECK(d.payload == pattern(100));
    p.expect({.flags = kAck | kFin, .seq = kOurSeq + 100, .ack = kPeerSeq, .len = 0});
    CHECK(p.state() == State::FinWait1);
    p.send(ack(kPeerSeq, kOurSeq + 100));  // data acknowledged, FIN not yet
    CHECK(p.state() == State::FinWait1);
    p.send(ack(kPeerSeq, kOurSeq + 101));
    CHECK(p.state() == State::FinWait2);
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2");
  }

  TEST_CASE("FIN,ACK acknowledging our FIN in FIN_WAIT_1 goes on to TIME_WAIT") {
    TcpPeer p = TcpPeer::fin_wait_1();
    p.send(fin(kPeerSeq, kOurSeq + 1));
    CHECK(p.state() == State::TimeWait);
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
    CHECK(p.transitions() == std::string{kOpen} +
                                 "ESTABLISHED->FIN_WAIT_1(app_close) "
                                 "FIN_WAIT_1->FIN_WAIT_2(segment) FIN_WAIT_2->TIME_WAIT(segment)");
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1");
  }

  TEST_CASE("simultaneous close: FIN_WAIT_1 -> CLOSING -> TIME_WAIT -> CLOSED") {
    TcpPeer p = TcpPeer::closing();
    p.send(ack(kPeerSeq + 1, kOurSeq + 1));
    CHECK(p.state() == State::TimeWait);
    p.expect_nothing();
    p.advance(1s);
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.transitions() == std::string{kOpen} +
                                 "ESTABLISHED->FIN_WAIT_1(app_close) "
                                 "FIN_WAIT_1->CLOSING(segment) CLOSING->TIME_WAIT(segment) "
                                 "TIME_WAIT->CLOSED(timeout)");
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_time_wait_expired+1");
  }

  TEST_CASE("a lost FIN is retransmitted with backoff until acknowledged") {
    TcpPeer p = TcpPeer::fin_wait_1();
    p.advance(999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kAck | kFin, .seq = kOurSeq, .ack = kPeerSeq});
    p.advance(2s);
    p.expect({.flags = kAck | kFin, .seq = kOurSeq, .ack = kPeerSeq});
    CHECK(p.state() == State::FinWait1);
    p.send(ack(kPeerSeq, kOurSeq + 1));
    CHECK(p.state() == State::FinWait2);
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+2 tcp_retransmits+2 tcp_retransmit_timeouts+2");
  }

  TEST_CASE("a FIN never acknowledged aborts the connection with RST after max_retransmits") {
    TcpPeer p = TcpPeer::fin_wait_1();  // max_retransmits = 3
    p.advance(1s + 2s + 4s);
    p.expect({.flags = kAck | kFin, .seq = kOurSeq});
    p.expect({.flags = kAck | kFin, .seq = kOurSeq});
    p.expect({.flags = kAck | kFin, .seq = kOurSeq});
    CHECK(p.state() == State::FinWait1);
    p.advance(8s);
    p.expect({.flags = kRst | kAck, .seq = kOurSeq + 1, .ack = kPeerSeq});
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.app().log == "established closed");
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_out+4 tcp_retransmits+3 tcp_retransmit_timeouts+4 tcp_resets_sent+1");
  }

  TEST_CASE("passive close: LAST_ACK retransmits its FIN, the ACK closes") {
    TcpPeer p = TcpPeer::last_ack();
    p.advance(1s);
    p.expect({.flags = kAck | kFin, .seq = kOurSeq, .ack = kPeerSeq + 1});
    p.send(ack(kPeerSeq + 1, kOurSeq + 1));
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions() == std::string{kOpen} +
                                 "ESTABLISHED->CLOSE_WAIT(segment) "
                                 "CLOSE_WAIT->LAST_ACK(app_close) LAST_ACK->CLOSED(segment)");
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+1 tcp_retransmits+1 tcp_retransmit_timeouts+1");
  }

  TEST_CASE("FIN_WAIT_2 times out after fin_wait2_timeout without sending anything") {
    TcpPeer p = TcpPeer::fin_wait_2();  // fin_wait2_timeout = 3 s
    p.advance(3s - 1ms);
    CHECK(p.state() == State::FinWait2);
    p.advance(1ms);
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.transitions() == std::string{kOpen} +
                                 "ESTABLISHED->FIN_WAIT_1(app_close) "
                                 "FIN_WAIT_1->FIN_WAIT_2(segment) FIN_WAIT_2->CLOSED(timeout)");
    CHECK(p.drops() == "");
    CHECK(p.events() == "");
  }

  TEST_CASE("FIN_WAIT_2 still receives data (half-close)") {
    TcpPeer p = TcpPeer::fin_wait_2();
    const Buffer payload = pattern(100);
    p.send(data(kPeerSeq, kOurSeq + 1, payload));
    CHECK(p.app().received == payload);
    p.advance(40ms);
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 100});
    p.send(fin(kPeerSeq + 100, kOurSeq + 1));
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 101});
    CHECK(p.state() == State::TimeWait);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_received+100");
  }

  TEST_CASE("TIME_WAIT: a retransmitted FIN is acknowledged again and restarts the 2 MSL timer") {
    TcpPeer p = TcpPeer::time_wait();
    p.advance(600ms);
    p.send(fin(kPeerSeq, kOurSeq + 1));
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
    p.advance(999ms);
    CHECK(p.state() == State::TimeWait);
    p.advance(1ms);
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.drops() == "tcp_out_of_window+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_time_wait_expired+1");
  }

  TEST_CASE("TIME_WAIT: a new SYN beyond RCV.NXT reopens the 4-tuple (RFC 6191, as Linux)") {
    TcpPeer p = TcpPeer::time_wait();
    const std::uint32_t next_iss = kPeerSeq + 100000;
    p.send(syn(next_iss));
    p.expect({.flags = kSyn | kAck, .ack = next_iss + 1});
    CHECK(p.state() == State::SynReceived);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_connections_accepted+1");
  }

  TEST_CASE("TIME_WAIT: a SYN at or below RCV.NXT is an old duplicate and gets a challenge ACK") {
    TcpPeer p = TcpPeer::time_wait();
    p.send(syn(kPeerSeq));
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
    CHECK(p.state() == State::TimeWait);
    CHECK(p.drops() == "tcp_out_of_window+1");
  }

  TEST_CASE(
      "TIME_WAIT with timestamps: a newer TSval reopens, an equal one needs a newer "
      "sequence number, an older one is PAWS") {
    // Drive to TIME_WAIT with timestamps on, the peer's clock at 500 when it sent its FIN.
    TcpPeer p = TcpPeer::listening();
    p.app().close_after_write = true;
    p.handshake({.ts = wire::Timestamps{400, 0}});
    p.expect({.flags = kAck | kFin, .seq = kOurSeq});
    auto with_ts = [](wire::TcpSegment s, std::uint32_t tsval) {
      s.options.timestamps = wire::Timestamps{tsval, 0};
      return s;
    };
    p.send(with_ts(ack(kPeerSeq, kOurSeq + 1), 450));
    p.send(with_ts(fin(kPeerSeq, kOurSeq + 1), 500));
    p.expect({.flags = kAck, .ack = kPeerSeq + 1});
    REQUIRE(p.state() == State::TimeWait);
    p.mark();
    SUBCASE("newer TSval, any sequence number") {
      p.send(with_ts(syn(kRemoteIss - 5000), 501));
      p.expect({.flags = kSyn | kAck, .ack = kRemoteIss - 5000 + 1});
      CHECK(p.state() == State::SynReceived);
    }
    SUBCASE("equal TSval (the same millisecond) with a newer sequence number: as Linux") {
      p.send(with_ts(syn(kPeerSeq + 5000), 500));
      p.expect({.flags = kSyn | kAck, .ack = kPeerSeq + 5000 + 1});
      CHECK(p.state() == State::SynReceived);
    }
    SUBCASE("equal TSval, old sequence number: stays in TIME_WAIT") {
      p.send(with_ts(syn(kPeerSeq), 500));
      p.expect({.flags = kAck, .ack = kPeerSeq + 1});
      CHECK(p.state() == State::TimeWait);
    }
    SUBCASE("older TSval: PAWS, stays in TIME_WAIT") {
      p.send(with_ts(syn(kPeerSeq + 5000), 499));
      p.expect({.flags = kAck, .ack = kPeerSeq + 1});
      CHECK(p.state() == State::TimeWait);
      CHECK(p.drops() == "tcp_paws_rejected+1");
    }
  }

  TEST_CASE("CLOSE_WAIT ignores text that follows the peer's FIN") {
    TcpPeer p = TcpPeer::close_wait();
    const Buffer payload = pattern(10);
    p.send(data(kPeerSeq + 1, kOurSeq, payload));
    CHECK(p.app().received.empty());
    CHECK(p.state() == State::CloseWait);
    CHECK(p.conn()->rcv().nxt.raw == kPeerSeq + 1);
    p.advance(1s);
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1");
  }

  TEST_CASE("after CLOSED, a late segment for the old connection meets the listener") {
    TcpPeer p = TcpPeer::last_ack();
    p.send(ack(kPeerSeq + 1, kOurSeq + 1));
    CHECK(p.state() == State::Closed);
    p.send(fin(kPeerSeq, kOurSeq + 1));  // the peer repeats its FIN
    p.expect({.flags = kRst, .seq = kOurSeq + 1});
    CHECK(p.drops() == "tcp_listen_no_syn+1");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+1 tcp_resets_sent+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
