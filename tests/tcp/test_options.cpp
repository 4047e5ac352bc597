// Options: MSS (RFC 9293 §3.7.1), window scale and timestamps with PAWS (RFC 7323), and
// SACK-permitted (RFC 2018), as the SYN-ACK answers them and as data then uses them.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

TEST_SUITE("tcp.options") {
  TEST_CASE("SYN-ACK without options offered: MSS only") {
    TcpPeer p = TcpPeer::listening();
    SynOptions o;
    o.mss = std::nullopt;
    p.send(syn(kRemoteIss, o));
    const Sent s = p.expect({.flags = kSyn | kAck, .window = 16384, .len = 0});
    CHECK(s.seg.options.mss == std::optional<std::uint16_t>{1460});
    CHECK(!s.seg.options.window_scale.has_value());
    CHECK(!s.seg.options.sack_permitted);
    CHECK(!s.seg.options.timestamps.has_value());
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_connections_accepted+1");
  }

  TEST_CASE("SYN-ACK echoes window scale, SACK-permitted and timestamps when offered") {
    TcpPeer p = TcpPeer::listening();
    SynOptions o;
    o.wscale = 7;
    o.sack = true;
    o.ts = wire::Timestamps{100, 0};
    p.send(syn(kRemoteIss, o));
    const Sent s = p.expect({.flags = kSyn | kAck, .window = 16384});
    CHECK(s.seg.options.mss == std::optional<std::uint16_t>{1460});
    CHECK(s.seg.options.window_scale == std::optional<std::uint8_t>{0});  // 16 KiB needs none
    CHECK(s.seg.options.sack_permitted);
    REQUIRE(s.seg.options.timestamps.has_value());
    CHECK(s.seg.options.timestamps->echo == 100);
    CHECK(s.seg.options.timestamps->value == kLocalIss);  // ms clock offset by the ISS
    CHECK(p.drops() == "");
  }

  TEST_CASE("options the configuration turns off are not echoed") {
    auto cfg = test_config();
    cfg.window_scaling = false;
    cfg.sack = false;
    cfg.timestamps = false;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    SynOptions o;
    o.wscale = 7;
    o.sack = true;
    o.ts = wire::Timestamps{100, 0};
    p.send(syn(kRemoteIss, o));
    const Sent s = p.expect({.flags = kSyn | kAck});
    CHECK(!s.seg.options.window_scale.has_value());
    CHECK(!s.seg.options.sack_permitted);
    CHECK(!s.seg.options.timestamps.has_value());
    CHECK(p.drops() == "");
  }

  TEST_CASE("our MSS comes from the MTU") {
    for (const std::uint16_t mtu : {576, 1280, 1500, 9000}) {
      CAPTURE(mtu);
      auto cfg = test_config();
      cfg.mtu = mtu;
      TcpPeer p = TcpPeer::listening(kPort, cfg);
      p.send(syn(kRemoteIss));
      const Sent s = p.expect({.flags = kSyn | kAck});
      CHECK(s.seg.options.mss == std::optional<std::uint16_t>{mtu - 40});
      CHECK(p.drops() == "");
    }
  }

  TEST_CASE("our segments never exceed min(peer MSS, ours), less 12 bytes with timestamps") {
    struct Case {
      std::optional<std::uint16_t> peer_mss;
      bool ts;
      std::size_t expected;
    };
    const Case cases[] = {
        {std::nullopt, false, 536},
        {536, false, 536},
        {1000, false, 1000},
        {1000, true, 988},
        {1460, false, 1460},
        {1460, true, 1448},
        {9000, false, 1460},
        {9000, true, 1448},
        {10, false, 48},  // Linux's floor (TCP_MIN_SND_MSS)
    };
    for (const auto& c : cases) {
      CAPTURE(c.peer_mss.value_or(0));
      CAPTURE(c.ts);
      TcpPeer p = TcpPeer::listening();
      p.app().to_write = pattern(5000);
      SynOptions o;
      o.mss = c.peer_mss;
      if (c.ts) { o.ts = wire::Timestamps{1, 0}; }
      p.handshake(o);
      CHECK(p.conn()->mss() == c.expected);
      const auto sent = p.take_all();
      REQUIRE(!sent.empty());
      CHECK(sent.front().payload.size() == c.expected);
      for (const auto& s : sent) { CHECK(s.payload.size() <= c.expected); }
      CHECK(p.drops() == "");
    }
  }

  TEST_CASE("segments that carry SACK blocks fit the MTU while ACKs open room (fuzz_tcp_script)") {
    // RFC 6691: the MSS counts no options, so the sender takes off those it adds. Found by
    // fuzz_tcp_script: data sent while a hole was open came out 12 bytes over the MTU with one
    // SACK block, and the stack dropped it (ipv4_too_big). Linux shrinks the segment likewise
    // (tcp_current_mss counts the SACK blocks).
    for (const bool ts : {false, true}) {
      CAPTURE(ts);
      TcpPeer p = TcpPeer::listening();
      p.app().to_write = pattern(40000);
      SynOptions o;
      o.sack = true;
      if (ts) { o.ts = wire::Timestamps{1, 0}; }
      p.handshake(o);
      const std::uint32_t mss = p.conn()->mss();
      p.take_all();
      // Four holes in what the peer sends, while it acknowledges a segment at a time: every
      // ACK opens room for new data, which goes out with as many SACK blocks as fit.
      const Buffer bytes = pattern(10);
      for (std::uint32_t k = 1; k <= 4; ++k) {
        auto seg = data(kPeerSeq + 100 * k, kOurSeq + k * mss, bytes);
        p.send(ts ? with_ts(seg, 1 + k, 0) : seg);
      }
      std::size_t data_with_sack = 0;
      for (const Sent& s : p.take_all()) {
        CAPTURE(s.text());
        CHECK(20 + wire::header_len(s.seg) + s.payload.size() <= 1500);
        if (s.seg.options.sack_count > 0 && !s.payload.empty()) { ++data_with_sack; }
      }
      CHECK(data_with_sack >= 4);  // the case under test did happen
      CHECK(p.drops() == "");
    }
  }

  TEST_CASE("SACK blocks take room from the payload: with holes to report, segments fit the MTU") {
    // RFC 9293 §3.7.1: options count against the MSS. Linux shrinks the payload by the SACK
    // option while it has blocks to send (tcp_current_mss); so do we.
    for (const bool ts : {false, true}) {
      CAPTURE(ts);
      TcpPeer p = TcpPeer::listening();
      SynOptions o;
      o.sack = true;
      if (ts) { o.ts = wire::Timestamps{1, 0}; }
      p.handshake(o);
      const auto stamped = [&](wire::TcpSegment s) { return ts ? with_ts(s, 2, 0) : s; };
      const Buffer piece = pattern(10);
      for (const std::uint32_t off : {100U, 300U, 500U}) {
        p.send(stamped(data(kPeerSeq + off, kOurSeq, piece)));
      }
      p.take_all();  // an ACK with SACK blocks for each
      p.app().to_write = pattern(10000);
      p.send(stamped(data(kPeerSeq, kOurSeq, piece)));  // in order: the app writes
      const auto sent = p.take_all();
      REQUIRE(sent.size() >= 2);
      const std::size_t mss = ts ? 1448 : 1460;
      for (const auto& s : sent) {
        CAPTURE(s.text());
        CHECK(wire::header_len(s.seg) + s.payload.size() <= 1500 - 20);
      }
      CHECK(sent.front().seg.options.sack_count == 3);
      CHECK(sent.front().payload.size() == mss - (4 + 3 * 8));
      CHECK(p.drops() == "");
    }
  }

  TEST_CASE("the peer's window scale applies to its windows after the handshake, not to the SYN") {
    TcpPeer p = TcpPeer::listening();
    p.app().to_write = pattern(10000);
    SynOptions o;
    o.wscale = 2;
    p.handshake(o, 1000);  // 1000 << 2 = 4000 bytes
    CHECK(p.conn()->snd().wnd == 4000);
    p.expect({.seq = kOurSeq, .len = kMss});
    p.expect({.seq = kOurSeq + kMss, .len = kMss});
    p.expect_nothing();                                // 1080 left in the window: a silly segment
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss, 16000));  // 64000 bytes
    CHECK(p.conn()->snd().wnd == 64000);
    CHECK(p.pending() > 0);
    CHECK(p.drops() == "");
  }

  TEST_CASE("our own window is scaled when the buffer needs it") {
    auto cfg = test_config();
    cfg.recv_buffer = 256 * 1024;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    p.app().auto_read = false;
    SynOptions o;
    o.wscale = 7;
    p.send(syn(kRemoteIss, o));
    const Sent s = p.expect({.flags = kSyn | kAck, .window = 65535});  // a SYN is never scaled
    CHECK(s.seg.options.window_scale == std::optional<std::uint8_t>{3});
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect_nothing();  // the larger window rides on the next ACK, no segment of its own
    const Buffer payload = pattern(1000);
    p.send(data(kPeerSeq, kOurSeq, payload));
    p.advance(40ms);
    p.expect({.flags = kAck, .ack = kPeerSeq + 1000, .window = (262144 - 1000) >> 3});
    CHECK(p.drops() == "");
  }

  TEST_CASE("PAWS: a segment with an old TSval is dropped with an ACK; TS.Recent moves forward") {
    TcpPeer p = TcpPeer::listening();
    SynOptions o;
    o.ts = wire::Timestamps{100, 0};
    p.handshake(o);
    const Buffer stream = pattern(40);
    auto part = [&](std::size_t off, std::size_t len) {
      return wire::Bytes{stream}.subspan(off, len);
    };
    p.send(with_ts(data(kPeerSeq, kOurSeq, part(0, 10)), 200, kLocalIss));
    p.advance(40ms);
    Sent a = p.expect({.flags = kAck, .ack = kPeerSeq + 10});
    REQUIRE(a.seg.options.timestamps.has_value());
    CHECK(a.seg.options.timestamps->echo == 200);  // TS.Recent updated
    CHECK(a.seg.options.timestamps->value == kLocalIss + 40);

    p.send(with_ts(data(kPeerSeq + 10, kOurSeq, part(10, 10)), 150, kLocalIss));  // old
    a = p.expect({.flags = kAck, .ack = kPeerSeq + 10});
    CHECK(a.seg.options.timestamps->echo == 200);
    CHECK(p.app().received.size() == 10);
    CHECK(p.drops() == "tcp_paws_rejected+1");

    // An out-of-order segment does not update TS.Recent (it does not cover Last.ACK.sent).
    p.send(with_ts(data(kPeerSeq + 20, kOurSeq, part(20, 20)), 300, kLocalIss));
    a = p.expect({.flags = kAck, .ack = kPeerSeq + 10});
    CHECK(a.seg.options.timestamps->echo == 200);
    p.send(with_ts(data(kPeerSeq + 10, kOurSeq, part(10, 10)), 250, kLocalIss));
    a = p.expect({.flags = kAck, .ack = kPeerSeq + 40});
    CHECK(a.seg.options.timestamps->echo == 250);
    CHECK(p.app().received == stream);

    // An RST is exempt from PAWS (RFC 7323 §5.3 R1).
    p.send(with_ts(rst(kPeerSeq + 40), 1, 0));
    CHECK(p.state() == State::Closed);
    CHECK(p.drops() == "tcp_paws_rejected+1");
    CHECK(p.events() ==
          "tcp_segments_in+5 tcp_segments_out+4 tcp_bytes_received+40 tcp_out_of_order+1 "
          "tcp_resets_received+1");
  }

  TEST_CASE("PAWS: bare segments with old TSvals share the challenge-ACK limit; data does not") {
    // A blind attacker guessing timestamps must not get an ACK for each guess (Linux rate-limits
    // PAWS duplicate ACKs but for segments with data, tcp_oow_rate_limited); a genuine old
    // duplicate with data still gets its ACK, as the sender's recovery needs it.
    TcpPeer p = TcpPeer::listening();
    SynOptions o;
    o.ts = wire::Timestamps{1000, 0};
    p.handshake(o);
    for (std::uint32_t i = 0; i < 20; ++i) { p.send(with_ts(ack(kPeerSeq, kOurSeq), 999 - i, 0)); }
    p.send(with_ts(syn(kPeerSeq + 5), 10, 0));
    p.expect({.flags = kAck, .ack = kPeerSeq});
    p.expect_nothing();
    const Buffer payload = pattern(10);
    for (int i = 0; i < 3; ++i) { p.send(with_ts(data(kPeerSeq, kOurSeq, payload), 500, 0)); }
    CHECK(p.take_all().size() == 3);
    CHECK(p.state() == State::Established);
    CHECK(p.app().received.empty());
    CHECK(p.drops() == "tcp_paws_rejected+24");
    CHECK(p.events() == "tcp_segments_in+24 tcp_segments_out+4 tcp_challenge_acks_limited+20");
  }
}

}  // namespace
}  // namespace tapsrv::test
