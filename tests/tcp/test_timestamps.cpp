// RFC 7323 TS.Recent: only a segment the connection accepts may move it (§4.3, §5.3 R3, as
// Linux's tcp_replace_ts_recent after tcp_validate_incoming and tcp_ack), and a connection idle
// past 24 days forgets it (§5.5, Linux TCP_PAWS_24DAYS in tcp_paws_check).
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

constexpr std::uint32_t kPeerTs = 100;  // the real peer's clock at the handshake

TcpPeer established_with_ts(std::uint32_t ts = kPeerTs) {
  TcpPeer p = TcpPeer::listening();
  SynOptions o;
  o.ts = wire::Timestamps{ts, 0};
  p.handshake(o);
  return p;
}

std::uint32_t echo_of(const Sent& s) {
  REQUIRE(s.seg.options.timestamps.has_value());
  return s.seg.options.timestamps->echo;
}

}  // namespace

TEST_SUITE("tcp.timestamps") {
  // A blind attacker (or a stale segment) with a TSval far ahead must not move TS.Recent with a
  // segment that is then refused: the real peer's next segments would fail PAWS and the
  // connection would stall (RFC 7323 §5.3 R3: record the timestamp of an *acceptable* segment).
  TEST_CASE("segments refused by the RST, SYN or ACK checks leave TS.Recent alone") {
    TcpPeer p = established_with_ts();
    const Buffer ten = pattern(10);
    SUBCASE("an in-window RST with data, not at RCV.NXT (RFC 5961 §3.2 challenge)") {
      p.send(with_ts(segment(kRst, kPeerSeq - 1, 0, kPeerWindow, ten), 90000, 0));
      CHECK(echo_of(p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq})) == kPeerTs);
      CHECK(p.drops() == "tcp_rst_challenged+1");
    }
    SUBCASE("a SYN at RCV.NXT (RFC 5961 §4.2 challenge)") {
      p.send(with_ts(segment(kSyn, kPeerSeq, 0), 90000, 0));
      CHECK(echo_of(p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq})) == kPeerTs);
      CHECK(p.drops() == "tcp_syn_challenged+1");
    }
    SUBCASE("an ACK of data never sent (RFC 5961 §5.2 challenge)") {
      p.send(with_ts(data(kPeerSeq, kOurSeq + 1000, ten), 90000, 0));
      CHECK(echo_of(p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq})) == kPeerTs);
      CHECK(p.drops() == "tcp_ack_too_new+1");
    }
    SUBCASE("data without the ACK bit (RFC 9293 fifth: drop)") {
      p.send(with_ts(segment(kPsh, kPeerSeq, 0, kPeerWindow, ten), 90000, 0));
      p.expect_nothing();
      CHECK(p.drops() == "tcp_no_ack+1");
    }
    // The real peer goes on with its own clock: accepted, and now TS.Recent moves.
    p.mark();
    p.send(with_ts(data(kPeerSeq, kOurSeq, ten), kPeerTs + 1, kLocalIss));
    p.advance(40ms);
    CHECK(echo_of(p.expect({.flags = kAck, .ack = kPeerSeq + 10})) == kPeerTs + 1);
    CHECK(p.app().received == ten);
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "");
  }

  TEST_CASE("an accepted segment moves TS.Recent even when it carries only an ACK") {
    TcpPeer p = established_with_ts();
    p.send(with_ts(ack(kPeerSeq, kOurSeq), kPeerTs + 5, kLocalIss));
    p.expect_nothing();
    const Buffer ten = pattern(10);
    p.send(with_ts(data(kPeerSeq, kOurSeq, ten), kPeerTs + 4, kLocalIss));  // now older: PAWS
    CHECK(echo_of(p.expect({.flags = kAck, .ack = kPeerSeq})) == kPeerTs + 5);
    CHECK(p.drops() == "tcp_paws_rejected+1");
  }

  // RFC 7323 §5.5: after 24 days of silence the peer's clock may have moved by more than 2^31
  // ticks, so a TSval that looks older is not evidence of an old duplicate; Linux accepts it
  // (tcp_paws_check, TCP_PAWS_24DAYS) and the segment's TSval becomes TS.Recent.
  TEST_CASE("a connection idle for more than 24 days takes the peer's TSval, whatever it is") {
    constexpr auto kDay = std::chrono::hours{24};
    TcpPeer p = established_with_ts(0x80000000U);
    const Buffer ten = pattern(10);
    const std::uint32_t older = 0x80000000U - 1000;
    SUBCASE("23 days: still PAWS") {
      p.advance(23 * kDay);
      p.send(with_ts(data(kPeerSeq, kOurSeq, ten), older, kLocalIss));
      CHECK(echo_of(p.expect({.flags = kAck, .ack = kPeerSeq})) == 0x80000000U);
      CHECK(p.app().received.empty());
      CHECK(p.drops() == "tcp_paws_rejected+1");
    }
    SUBCASE("24 days and a second: accepted, and TS.Recent is replaced") {
      p.advance(24 * kDay + 1s);
      p.send(with_ts(data(kPeerSeq, kOurSeq, ten), older, kLocalIss));
      p.advance(40ms);
      CHECK(echo_of(p.expect({.flags = kAck, .ack = kPeerSeq + 10})) == older);
      CHECK(p.app().received == ten);
      CHECK(p.drops() == "");
      // From here PAWS judges by the new value again.
      p.send(with_ts(data(kPeerSeq + 10, kOurSeq, ten), older - 1, kLocalIss));
      p.expect({.flags = kAck, .ack = kPeerSeq + 10});
      CHECK(p.drops() == "tcp_paws_rejected+1");
    }
    CHECK(p.state() == State::Established);
  }
}

}  // namespace tapsrv::test
