// A peer that shows a zero window and then vanishes cannot pin a connection and its buffers
// forever: zero-window probes give up after the retransmission limit of unanswered ones, and
// the user timeout applies to probing too (Linux tcp_probe_timer). A peer that answers its
// probes keeps the connection (RFC 1122 §4.2.2.17).
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

// 100 bytes wait behind the zero window the peer's final ACK shows. The RTO is 1 s (no sample
// yet) and backs off to test_config()'s rto_max of 10 s: probes at 1, 3, 7, 15, 25, 35 s...
TcpPeer stuck_behind_zero_window(const tcp::Config& cfg) {
  TcpPeer p = TcpPeer::listening(kPort, cfg);
  p.app().to_write = pattern(100);
  p.handshake({}, 0);
  p.expect_nothing();
  return p;
}

/// A user timeout of 2.5 s, and a retransmission limit that cannot come first.
tcp::Config user_timeout_config() {
  tcp::Config c = test_config();
  c.max_retransmits = 100;
  c.user_timeout = 2500ms;
  return c;
}

/// Runs the clock from deadline to deadline until we send something (at most `limit`).
void advance_until_sent(TcpPeer& p, Duration limit = 60s) {
  const Instant end = p.now() + limit;
  while (p.pending() == 0 && p.now() < end) {
    const auto next = p.engine().next_deadline();
    p.advance(next && *next < end ? *next - p.now() : end - p.now());
  }
}

}  // namespace

TEST_SUITE("tcp.zero_window") {
  TEST_CASE("a vanished peer behind a zero window is reset after max_retransmits probes") {
    TcpPeer p = stuck_behind_zero_window(test_config());  // max_retransmits = 3
    for (const auto wait : {1s, 2s, 4s}) {
      p.advance(wait);
      p.expect({.flags = kAck, .seq = kOurSeq - 1, .ack = kPeerSeq, .len = 0});
    }
    p.advance(7999ms);
    p.expect_nothing();
    p.advance(1ms);  // the fourth probe would go now: three went unanswered, give up
    p.expect({.flags = kRst | kAck, .seq = kOurSeq, .ack = kPeerSeq});
    CHECK(p.state() == State::Closed);
    CHECK(p.elapsed() == 15s);
    CHECK(p.transitions().ends_with("ESTABLISHED->CLOSED(probe_limit)"));
    CHECK(p.app().log == "established closed");
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_out+4 tcp_window_probes+3 tcp_aborts_on_timeout+1 tcp_resets_sent+1");
  }

  TEST_CASE("a peer that answers every probe with a zero window keeps the connection") {
    TcpPeer p = stuck_behind_zero_window(test_config());  // max_retransmits = 3
    // Twenty probes, far past the limit, each answered (Linux resets icsk_probes_out on any
    // ACK, tcp_ack): the backoff stays (1, 2, 4, 8, then 10 s), the connection too.
    for (int i = 0; i < 20; ++i) {
      advance_until_sent(p);
      p.expect({.flags = kAck, .seq = kOurSeq - 1, .len = 0});
      p.send(ack(kPeerSeq, kOurSeq, 0));
      p.expect_nothing();
    }
    CHECK(p.state() == State::Established);
    CHECK(p.elapsed() == 1s + 2s + 4s + 8s + 16 * 10s);
    p.send(ack(kPeerSeq, kOurSeq, 1000));  // the window opens at last
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .len = 100});
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+21 tcp_segments_out+21 tcp_bytes_sent+100 tcp_window_probes+20");
  }

  TEST_CASE("answered probes count again from zero: the limit is of probes in a row") {
    TcpPeer p = stuck_behind_zero_window(test_config());  // max_retransmits = 3
    p.advance(1s);
    p.expect({.flags = kAck, .seq = kOurSeq - 1});
    p.advance(2s);
    p.expect({.flags = kAck, .seq = kOurSeq - 1});
    p.send(ack(kPeerSeq, kOurSeq, 0));  // answers the second; then the peer vanishes
    for (const auto wait : {4s, 8s, 10s}) {
      p.advance(wait);
      p.expect({.flags = kAck, .seq = kOurSeq - 1});
    }
    CHECK(p.state() == State::Established);
    p.advance(10s);
    p.expect({.flags = kRst | kAck, .seq = kOurSeq});
    CHECK(p.state() == State::Closed);
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+6 tcp_window_probes+5 tcp_aborts_on_timeout+1 "
          "tcp_resets_sent+1");
  }

  // Linux tcp_probe_timer: with TCP_USER_TIMEOUT the connection is reset once the window has
  // stayed closed that long since the first probe, answered or not, and the probe timer is
  // clamped so the reset comes on time (tcp_clamp_probe0_to_user_timeout). tcp(7): "buffered
  // data may remain untransmitted (due to zero window size)" for at most the user timeout.
  TEST_CASE("with a user timeout, probing ends at the user timeout") {
    TcpPeer p = stuck_behind_zero_window(user_timeout_config());
    p.advance(1s);  // the first probe starts the clock
    p.expect({.flags = kAck, .seq = kOurSeq - 1});
    SUBCASE("the peer vanished") {}
    SUBCASE("the peer answers with a zero window") { p.send(ack(kPeerSeq, kOurSeq, 0)); }
    p.advance(2s);
    p.expect({.flags = kAck, .seq = kOurSeq - 1});
    p.advance(499ms);  // the next probe would be 4 s away; the timer is clamped to 0.5 s
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kRst | kAck, .seq = kOurSeq});
    CHECK(p.state() == State::Closed);
    CHECK(p.elapsed() == 3500ms);
    CHECK(p.transitions().ends_with("ESTABLISHED->CLOSED(user_timeout)"));
    CHECK(p.drops() == "");
  }

  TEST_CASE("a window that opens stops the user-timeout clock of probing") {
    TcpPeer p = TcpPeer::listening(kPort, user_timeout_config());
    p.app().to_write = pattern(3000);
    p.handshake({}, 0);
    p.advance(1s);
    p.expect({.flags = kAck, .seq = kOurSeq - 1});
    p.advance(2s);
    p.expect({.flags = kAck, .seq = kOurSeq - 1});
    p.send(ack(kPeerSeq, kOurSeq, 2 * kMss));  // room for two segments, then closed again
    p.expect({.seq = kOurSeq, .len = kMss});
    p.expect({.seq = kOurSeq + kMss, .len = kMss});
    p.advance(10ms);
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss, 0));
    // Probing starts afresh, 3 s after the first probe: its first probe is an RTO away, the
    // reset 2.5 s after that.
    advance_until_sent(p);
    p.expect({.flags = kAck, .seq = kOurSeq + 2 * kMss - 1});
    const Instant first = p.now();
    while (p.state() == State::Established && p.now() - first < 10s) {
      advance_until_sent(p);
      p.take_all();
    }
    CHECK(p.state() == State::Closed);
    CHECK(p.now() - first == 2500ms);
  }
}

}  // namespace tapsrv::test
