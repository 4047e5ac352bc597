// Idle and stuck peers cannot pin a connection forever: keepalive (RFC 1122 §4.2.3.6) and the
// user timeout (RFC 5482).
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

tcp::Config keepalive_config() {
  tcp::Config c = test_config();
  c.keepalive_idle = 10s;
  c.keepalive_interval = 1s;
  c.keepalive_probes = 3;
  return c;
}

}  // namespace

TEST_SUITE("tcp.keepalive") {
  TEST_CASE("off by default: an idle connection arms no timer at all") {
    TcpPeer p = TcpPeer::established();
    CHECK(p.engine().next_deadline() == std::nullopt);
    p.advance(3600s);
    p.expect_nothing();
    CHECK(p.state() == State::Established);
  }

  TEST_CASE("an idle peer is probed after the idle time; an answer restarts it") {
    TcpPeer p = TcpPeer::established(keepalive_config());
    p.advance(9999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kAck, .seq = kOurSeq - 1, .ack = kPeerSeq, .len = 0});
    p.send(ack(kPeerSeq, kOurSeq));  // the peer is alive
    p.advance(9999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kAck, .seq = kOurSeq - 1, .len = 0});
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+2 tcp_keepalive_probes+2");
  }

  TEST_CASE("a silent peer is reset after the last unanswered probe") {
    TcpPeer p = TcpPeer::established(keepalive_config());
    p.advance(10s);
    for (int i = 0; i < 3; ++i) {
      p.expect({.flags = kAck, .seq = kOurSeq - 1});
      p.advance(1s);
    }
    p.expect({.flags = kRst | kAck, .seq = kOurSeq});
    CHECK(p.state() == State::Closed);
    CHECK(p.app().log == "established closed");
    CHECK(p.transitions().ends_with("ESTABLISHED->CLOSED(keepalive)"));
    CHECK(p.events() ==
          "tcp_segments_out+4 tcp_keepalive_probes+3 tcp_aborts_on_timeout+1 tcp_resets_sent+1");
  }
}

TEST_SUITE("tcp.user_timeout") {
  TEST_CASE("data unacknowledged for the user timeout aborts before the retry limit") {
    tcp::Config c = test_config();
    c.max_retransmits = 100;
    c.user_timeout = 2500ms;
    TcpPeer p = TcpPeer::listening(kPort, c);
    p.app().to_write = pattern(100);
    p.handshake();
    p.expect({.len = 100});
    p.advance(1s);  // RTO 1 s
    p.expect({.len = 100});
    // Backed off to 2 s, but clamped to the user timeout (Linux tcp_clamp_rto_to_user_timeout):
    // the reset comes at 2.5 s, not at the next retransmission's 3 s.
    p.advance(1499ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kRst | kAck});
    CHECK(p.elapsed() == 2500ms);  // the data was sent at 0
    CHECK(p.state() == State::Closed);
    CHECK(p.transitions().ends_with("ESTABLISHED->CLOSED(user_timeout)"));
    CHECK(p.events() ==
          "tcp_segments_out+2 tcp_retransmits+1 tcp_retransmit_timeouts+2 "
          "tcp_aborts_on_timeout+1 tcp_resets_sent+1");
  }
}

}  // namespace tapsrv::test
