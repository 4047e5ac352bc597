// Blind in-window attacks (RFC 5961) and the acceptability tests of RFC 9293 §3.10.7.4: RST in
// every synchronized state, SYN, ACKs outside [SND.UNA - MAX.SND.WND, SND.NXT], blind data.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

TcpPeer syn_received() {
  TcpPeer p = TcpPeer::listening();
  p.send(syn(kRemoteIss));
  p.expect({.flags = kSyn | kAck});
  p.mark();
  return p;
}

struct StateCase {
  const char* name;
  TcpPeer (*make)();
  State state;
  std::uint32_t rcv_nxt;  // where an exact RST must be
  std::uint32_t snd_nxt;  // what a challenge ACK carries as SEQ
};

TcpPeer established() { return TcpPeer::established(); }

const StateCase kStates[] = {
    {"SYN_RECEIVED", &syn_received, State::SynReceived, kPeerSeq, kOurSeq},
    {"ESTABLISHED", &established, State::Established, kPeerSeq, kOurSeq},
    {"FIN_WAIT_1", &TcpPeer::fin_wait_1, State::FinWait1, kPeerSeq, kOurSeq + 1},
    {"FIN_WAIT_2", &TcpPeer::fin_wait_2, State::FinWait2, kPeerSeq, kOurSeq + 1},
    {"CLOSE_WAIT", &TcpPeer::close_wait, State::CloseWait, kPeerSeq + 1, kOurSeq},
    {"CLOSING", &TcpPeer::closing, State::Closing, kPeerSeq + 1, kOurSeq + 1},
    {"LAST_ACK", &TcpPeer::last_ack, State::LastAck, kPeerSeq + 1, kOurSeq + 1},
    {"TIME_WAIT", &TcpPeer::time_wait, State::TimeWait, kPeerSeq + 1, kOurSeq + 1},
};

TEST_SUITE("tcp.rfc5961") {
  TEST_CASE("an RST exactly at RCV.NXT resets the connection in every synchronized state") {
    for (const auto& sc : kStates) {
      const std::string state_name = sc.name;
      CAPTURE(state_name);
      TcpPeer p = sc.make();
      REQUIRE(p.state() == sc.state);
      p.send(rst(sc.rcv_nxt));
      p.expect_nothing();
      CHECK(p.state() == State::Closed);
      CHECK(p.engine().connection_count() == 0);
      CHECK(p.engine().next_deadline() == std::nullopt);
      const std::string last =
          std::string{tcp::name(sc.state)} +
          (sc.state == State::SynReceived ? "->LISTEN(segment)" : "->CLOSED(segment)");
      CHECK(p.transitions().ends_with(last));
      CHECK(p.drops() == "");
      CHECK(p.events() == "tcp_segments_in+1 tcp_resets_received+1");
    }
  }

  TEST_CASE("RST,ACK exactly at RCV.NXT resets too") {
    TcpPeer p = TcpPeer::established();
    p.send(segment(kRst | kAck, kPeerSeq, kOurSeq));
    CHECK(p.state() == State::Closed);
    CHECK(p.app().log == "established closed");
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_resets_received+1");
  }

  TEST_CASE("an in-window RST that is not exact gets a challenge ACK; the connection survives") {
    for (const auto& sc : kStates) {
      for (const std::uint32_t off : {1U, 100U, 16000U}) {
        const std::string state_name = sc.name;
        CAPTURE(state_name);
        CAPTURE(off);
        TcpPeer p = sc.make();
        p.send(rst(sc.rcv_nxt + off));
        if (sc.state == State::SynReceived) {
          // Before the handshake completes our only ACK is the SYN-ACK; it is sent again.
          p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = sc.rcv_nxt});
        } else {
          p.expect({.flags = kAck, .seq = sc.snd_nxt, .ack = sc.rcv_nxt, .len = 0});
        }
        p.expect_nothing();
        CHECK(p.state() == sc.state);
        CHECK(p.drops() == "tcp_rst_challenged+1");
        CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1");
      }
    }
  }

  TEST_CASE("challenge ACKs are limited to one per 500 ms per connection (RFC 5961 §7)") {
    TcpPeer p = TcpPeer::established();
    for (int i = 0; i < 50; ++i) { p.send(rst(kPeerSeq + 1 + static_cast<std::uint32_t>(i))); }
    p.send(syn(kPeerSeq + 7));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});  // one, for the first RST
    p.expect_nothing();
    CHECK(p.state() == State::Established);
    p.advance(499ms);
    p.send(rst(kPeerSeq + 9));
    p.expect_nothing();
    p.advance(1ms);
    p.send(rst(kPeerSeq + 9));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    CHECK(p.drops() == "tcp_rst_challenged+52 tcp_syn_challenged+1");
    CHECK(p.events() == "tcp_segments_in+53 tcp_segments_out+2 tcp_challenge_acks_limited+51");
  }

  TEST_CASE("SYNs outside the window share the challenge-ACK limit (RFC 5961 §4.2, §7)") {
    // A blind attacker spraying SYNs over the sequence space must not get an ACK for each.
    TcpPeer p = TcpPeer::established();
    for (std::uint32_t i = 0; i < 50; ++i) { p.send(syn(kPeerSeq + 0x10000000U * (i % 15 + 1))); }
    const Buffer payload = pattern(10);
    p.send(segment(kSyn | kAck, kPeerSeq - 1000, kOurSeq, kPeerWindow, payload));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});  // one, for the first SYN
    p.expect_nothing();
    p.advance(500ms);
    p.send(syn(kPeerSeq + 0x80000000U));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "tcp_out_of_window+52");
    CHECK(p.events() == "tcp_segments_in+52 tcp_segments_out+2 tcp_challenge_acks_limited+50");
  }

  // Linux tcp_validate_incoming -> tcp_oow_rate_limited (TCPACKSkippedSeq): the duplicate ACK
  // for an unacceptable segment without data is limited like a challenge ACK; one with data is
  // not, as a sender's recovery may need it.
  TEST_CASE("bare ACKs outside the window share the challenge-ACK limit; data does not") {
    TcpPeer p = TcpPeer::established();
    for (std::uint32_t i = 0; i < 20; ++i) { p.send(ack(kPeerSeq + 20000 + i, kOurSeq)); }
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    p.expect_nothing();
    const Buffer payload = pattern(10);
    for (int i = 0; i < 3; ++i) { p.send(data(kPeerSeq + 20000, kOurSeq, payload)); }
    CHECK(p.take_all().size() == 3);
    CHECK(p.drops() == "tcp_out_of_window+23");
    CHECK(p.events() == "tcp_segments_in+23 tcp_segments_out+4 tcp_challenge_acks_limited+19");
  }

  TEST_CASE("an RST outside the window is dropped without a reply") {
    for (const auto& sc : kStates) {
      for (const std::uint32_t off : {20000U, 0x80000000U, 0xffffffffU}) {
        const std::string state_name = sc.name;
        CAPTURE(state_name);
        CAPTURE(off);
        TcpPeer p = sc.make();
        p.send(rst(sc.rcv_nxt + off));
        p.expect_nothing();
        CHECK(p.state() == sc.state);
        CHECK(p.drops() == "tcp_out_of_window+1");
        CHECK(p.events() == "tcp_segments_in+1");
      }
    }
  }

  TEST_CASE("a SYN in ESTABLISHED gets a challenge ACK wherever it falls (RFC 5961 §4.2)") {
    TcpPeer p = TcpPeer::established();
    SUBCASE("in window") {
      p.send(syn(kPeerSeq + 10));
      p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
      CHECK(p.drops() == "tcp_syn_challenged+1");
    }
    SUBCASE("exactly at RCV.NXT") {
      p.send(syn(kPeerSeq));
      p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
      CHECK(p.drops() == "tcp_syn_challenged+1");
    }
    SUBCASE("the old ISN again (a restarted client): just left of the window") {
      p.send(syn(kRemoteIss));
      p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
      CHECK(p.drops() == "tcp_out_of_window+1");
    }
    SUBCASE("far out of window") {
      p.send(syn(kPeerSeq + 1000000));
      p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
      CHECK(p.drops() == "tcp_out_of_window+1");
    }
    p.expect_nothing();
    CHECK(p.state() == State::Established);
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1");
  }

  TEST_CASE("an ACK above SND.NXT is answered with an ACK and dropped, data and all") {
    TcpPeer p = TcpPeer::established();
    const Buffer payload = pattern(50);
    SUBCASE("pure ACK") { p.send(ack(kPeerSeq, kOurSeq + 1)); }
    SUBCASE("with data") { p.send(data(kPeerSeq, kOurSeq + 5000, payload)); }
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    p.expect_nothing();
    CHECK(p.app().received.empty());
    CHECK(p.conn()->snd().una.raw == kOurSeq);
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "tcp_ack_too_new+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1");
  }

  TEST_CASE("an ACK below SND.UNA - MAX.SND.WND is answered with an ACK and dropped") {
    TcpPeer p = TcpPeer::established();  // MAX.SND.WND = 65535
    const Buffer payload = pattern(50);
    p.send(data(kPeerSeq, kOurSeq - 65536, payload));
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    CHECK(p.app().received.empty());
    CHECK(p.drops() == "tcp_ack_too_old+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1");
    p.mark();
    // Just inside the bound the data is taken (an old duplicate ACK is harmless).
    p.send(data(kPeerSeq, kOurSeq - 65535, payload));
    CHECK(p.app().received == payload);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_bytes_received+50");
  }

  TEST_CASE("blind data outside the receive window is dropped and answered with an ACK") {
    TcpPeer p = TcpPeer::established();  // RCV.WND = 16384
    const Buffer payload = pattern(100);
    SUBCASE("just past the right edge") { p.send(data(kPeerSeq + 16384, kOurSeq, payload)); }
    SUBCASE("far ahead") { p.send(data(kPeerSeq + 0x40000000, kOurSeq, payload)); }
    SUBCASE("entirely old") { p.send(data(kPeerSeq - 100, kOurSeq, payload)); }
    SUBCASE("far behind") { p.send(data(kPeerSeq - 0x40000000, kOurSeq, payload)); }
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq, .window = 16384});
    p.expect_nothing();
    CHECK(p.app().received.empty());
    CHECK(p.conn()->rcv().nxt.raw == kPeerSeq);
    CHECK(p.drops() == "tcp_out_of_window+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1");
  }

  TEST_CASE("a segment without ACK in ESTABLISHED is dropped silently") {
    TcpPeer p = TcpPeer::established();
    const Buffer payload = pattern(10);
    p.send(segment(kPsh, kPeerSeq, 0, 1000, payload));
    p.expect_nothing();
    CHECK(p.app().received.empty());
    CHECK(p.drops() == "tcp_no_ack+1");
    CHECK(p.events() == "tcp_segments_in+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
