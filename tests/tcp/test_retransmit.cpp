// Loss recovery: the retransmission timer (RFC 6298, Karn), fast retransmit and NewReno
// (RFC 5681 §3.2, RFC 6582), and giving up.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

/// Established with the TestApp having queued `n` bytes at once; those segments are not taken.
TcpPeer sending(std::size_t n, const tcp::Config& cfg = test_config()) {
  TcpPeer p = TcpPeer::listening(kPort, cfg);
  p.app().to_write = pattern(n);
  p.handshake();
  return p;
}

/// Makes the TestApp write `n` more bytes the first time an ACK frees send-buffer space.
void write_on_next_ack(TcpPeer& p, std::size_t n) {
  p.app().on_writable = [n, done = false](tcp::Connection& c) mutable {
    if (done) { return; }
    done = true;
    const Buffer more = pattern(n, 1);
    CHECK(c.write(more) == n);
  };
}

TEST_SUITE("tcp.retransmit") {
  TEST_CASE(
      "a lost tail is probed after 2 SRTT (RFC 8985 §7), and the probe's SACK starts "
      "fast recovery long before the RTO") {
    TcpPeer p = TcpPeer::listening(kPort);
    p.app().to_write = pattern(100);
    p.handshake({.sack = true});
    p.expect({.len = 100});
    p.advance(100ms);
    write_on_next_ack(p, 4 * kMss);
    p.send(ack(kPeerSeq, kOurSeq + 100));  // RTT sample 100 ms: SRTT 100, RTO 300 ms
    const std::uint32_t base = kOurSeq + 100;
    for (std::uint32_t i = 0; i < 4; ++i) { p.expect({.seq = base + i * kMss, .len = kMss}); }
    p.advance(10ms);
    p.send(ack(kPeerSeq, base + 2 * kMss));  // the last two are lost
    p.mark();
    // SRTT is now 100 * 7/8 + 10 / 8 = 88.75 ms: the probe is due 177.5 ms after that ACK,
    // before the RTO (well over 200 ms).
    p.advance(177ms);
    p.expect_nothing();
    p.advance(1ms);
    // The last segment again, flags and all (its PSH too, as Linux resends the skb).
    p.expect({.flags = kAck | kPsh, .seq = base + 3 * kMss, .len = kMss});
    // Its ACK carries a SACK block above the hole: one duplicate suffices with two in flight
    // and nothing new to send (RFC 5827), so the hole goes at once.
    auto sacked = ack(kPeerSeq, base + 2 * kMss);
    sacked.options.sack_count = 1;
    sacked.options.sack[0] = {wire::SeqNum{base + 3 * kMss}, wire::SeqNum{base + 4 * kMss}};
    p.send(sacked);
    p.expect({.flags = kAck, .seq = base + 2 * kMss, .len = kMss});
    p.send(ack(kPeerSeq, base + 4 * kMss));
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+2 tcp_retransmits+2 tcp_fast_retransmits+1 "
          "tcp_loss_probes+1");
  }

  TEST_CASE("a lost segment is resent from SND.UNA on RTO, which doubles (go-back-N, cwnd 1)") {
    TcpPeer p = sending(2 * kMss);
    p.expect({.flags = kAck, .seq = kOurSeq, .len = kMss});
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq + kMss, .len = kMss});
    p.advance(999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq, .len = kMss});  // one MSS only
    p.expect_nothing();
    p.advance(1999ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kAck, .seq = kOurSeq, .len = kMss});
    p.send(ack(kPeerSeq, kOurSeq + kMss));
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq + kMss, .len = kMss});  // the rest goes again
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss));
    p.expect_nothing();
    CHECK(p.conn()->next_deadline() == std::nullopt);
    CHECK(p.app().log == "established writable writable");
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+3 tcp_retransmits+3 tcp_retransmit_timeouts+2");
  }

  TEST_CASE("an RTT sample from a segment sent once sets the RTO (RFC 6298 (2.2), Linux floor)") {
    SUBCASE("100 ms: RTO = SRTT + 4 RTTVAR = 300 ms") {
      TcpPeer p = sending(100);
      p.expect({.len = 100});
      p.advance(100ms);
      write_on_next_ack(p, 100);
      p.send(ack(kPeerSeq, kOurSeq + 100));
      p.expect({.seq = kOurSeq + 100, .len = 100});
      CHECK(p.engine().next_deadline() == p.now() + 300ms);
      p.advance(300ms);
      p.expect({.seq = kOurSeq + 100, .len = 100});
      CHECK(p.drops() == "");
      CHECK(p.events() ==
            "tcp_segments_in+1 tcp_segments_out+2 tcp_bytes_sent+100 tcp_retransmits+1 "
            "tcp_retransmit_timeouts+1");
    }
    SUBCASE("10 ms: RTO is clamped to rto_min (200 ms)") {
      TcpPeer p = sending(100);
      p.expect({.len = 100});
      p.advance(10ms);
      write_on_next_ack(p, 100);
      p.send(ack(kPeerSeq, kOurSeq + 100));
      p.expect({.seq = kOurSeq + 100, .len = 100});
      CHECK(p.engine().next_deadline() == p.now() + 200ms);
      CHECK(p.drops() == "");
      CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_sent+100");
    }
  }

  TEST_CASE(
      "Karn: the ACK of a retransmitted segment gives no RTT sample, but moving SND.UNA "
      "ends the backoff") {
    TcpPeer p = sending(100);
    p.expect({.len = 100});
    p.advance(1s);
    p.expect({.seq = kOurSeq, .len = 100});  // RTO now 2 s
    p.advance(10ms);
    write_on_next_ack(p, 100);
    p.send(ack(kPeerSeq, kOurSeq + 100));  // ambiguous: the first copy or the second?
    p.expect({.seq = kOurSeq + 100, .len = 100});
    // A sample of 10 ms would give 200 ms, one of 1010 ms about 3 s: neither is taken. The
    // path works again, so the doubled 2 s is gone too: back to the initial 1 s (Linux resets
    // icsk_backoff once ACKs move; RFC 6298 §5 allows the collapse).
    CHECK(p.conn()->next_deadline() == p.now() + 1s);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+2 tcp_bytes_sent+100 tcp_retransmits+1 "
          "tcp_retransmit_timeouts+1");
  }

  TEST_CASE("three duplicate ACKs trigger a fast retransmit; a partial ACK resends the next hole") {
    TcpPeer p = sending(5 * kMss);
    for (std::uint32_t i = 0; i < 5; ++i) { p.expect({.seq = kOurSeq + i * kMss, .len = kMss}); }
    // Segments 0 and 2 are lost; 1, 3 and 4 each produce a duplicate ACK.
    p.send(ack(kPeerSeq, kOurSeq));
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect_nothing();
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq, .len = kMss});
    p.expect_nothing();
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss));  // partial: below `recover`
    p.expect({.flags = kAck, .seq = kOurSeq + 2 * kMss, .len = kMss});
    p.expect_nothing();
    p.send(ack(kPeerSeq, kOurSeq + 5 * kMss));  // full acknowledgment ends recovery
    p.expect_nothing();
    CHECK(p.conn()->next_deadline() == std::nullopt);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+5 tcp_segments_out+2 tcp_retransmits+2 tcp_fast_retransmits+1");
  }

  TEST_CASE("duplicate ACKs that change the window, or only two of them, do not retransmit") {
    TcpPeer p = sending(5 * kMss);
    for (int i = 0; i < 5; ++i) { p.expect({.len = kMss}); }
    p.send(ack(kPeerSeq, kOurSeq));
    p.send(ack(kPeerSeq, kOurSeq));
    p.send(ack(kPeerSeq, kOurSeq, kPeerWindow - 1));  // a window update, not a duplicate
    p.expect_nothing();
    p.advance(1s);  // the timer recovers instead
    p.expect({.seq = kOurSeq, .len = kMss});
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+1 tcp_retransmits+1 tcp_retransmit_timeouts+1");
  }

  TEST_CASE("early retransmit (RFC 5827): with three segments out, two duplicates suffice") {
    TcpPeer p = sending(3 * kMss);
    for (int i = 0; i < 3; ++i) { p.expect({.len = kMss}); }
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect_nothing();
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect({.flags = kAck, .seq = kOurSeq, .len = kMss});
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+1 tcp_retransmits+1 tcp_fast_retransmits+1");
  }

  TEST_CASE("after max_retransmits the connection is aborted with RST and CLOSED") {
    TcpPeer p = sending(100);  // max_retransmits = 3
    p.expect({.len = 100});
    p.advance(1s + 2s + 4s);
    for (int i = 0; i < 3; ++i) { p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .len = 100}); }
    CHECK(p.state() == State::Established);
    p.advance(8s - 1ms);
    p.expect_nothing();
    p.advance(1ms);
    p.expect({.flags = kRst | kAck, .seq = kOurSeq + 100, .ack = kPeerSeq, .len = 0});
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions().ends_with("ESTABLISHED->CLOSED(retransmit)"));
    CHECK(p.app().log == "established closed");
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_out+4 tcp_retransmits+3 tcp_retransmit_timeouts+4 tcp_aborts_on_timeout+1 "
          "tcp_resets_sent+1");
  }

  TEST_CASE("the backed-off RTO is capped at rto_max (RFC 6298 (5.5))") {
    auto cfg = test_config();
    cfg.rto_max = 5s;
    cfg.max_retransmits = 6;
    TcpPeer p = sending(100, cfg);
    p.expect({.len = 100});
    Instant last = p.now();
    std::vector<Duration> gaps;
    for (int i = 0; i < 6; ++i) {
      while (p.pending() == 0) { p.advance(1ms); }
      const Sent s = p.expect({.seq = kOurSeq, .len = 100});
      gaps.push_back(s.at - last);
      last = s.at;
    }
    CHECK(gaps == std::vector<Duration>{1s, 2s, 4s, 5s, 5s, 5s});
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_out+6 tcp_retransmits+6 tcp_retransmit_timeouts+6");
  }
}

}  // namespace
}  // namespace tapsrv::test
