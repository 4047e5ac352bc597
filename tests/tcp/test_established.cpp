// Receiving data in ESTABLISHED (RFC 9293 §3.10.7.4 first, seventh): in-order delivery,
// delayed ACKs, and the reassembly of out-of-order, duplicate and overlapping segments with
// SACK blocks (RFC 2018).
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

/// Bytes [off, off + len) of the peer's stream.
wire::Bytes slice(const Buffer& stream, std::size_t off, std::size_t len) {
  return wire::Bytes{stream}.subspan(off, len);
}

wire::SackBlock block(std::uint32_t left, std::uint32_t right) {
  return wire::SackBlock{wire::SeqNum{left}, wire::SeqNum{right}};
}

TcpPeer established_with_sack() {
  TcpPeer p = TcpPeer::listening();
  SynOptions o;
  o.sack = true;
  p.handshake(o);
  return p;
}

TEST_SUITE("tcp.established") {
  TEST_CASE("in-order data is delivered and acknowledged after the delayed-ACK time (40 ms)") {
    TcpPeer p = TcpPeer::established();
    const Buffer payload = pattern(100);
    p.send(data(kPeerSeq, kOurSeq, payload));
    CHECK(p.app().received == payload);
    CHECK(p.app().log == "established readable");
    p.expect_nothing();
    p.advance(39ms);
    p.expect_nothing();
    p.advance(1ms);
    // The right edge moves only by a full MSS (receiver SWS avoidance), so 100 bytes read
    // back do not yet reopen the window.
    p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq + 100, .window = 16384 - 100});
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_received+100");
  }

  TEST_CASE("every second full-sized segment is acknowledged at once") {
    TcpPeer p = TcpPeer::established();
    const Buffer stream = pattern(3 * kMss);
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, kMss)));
    p.expect_nothing();
    p.send(data(kPeerSeq + kMss, kOurSeq, slice(stream, kMss, kMss)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 2 * kMss, .window = 16384});
    p.send(data(kPeerSeq + 2 * kMss, kOurSeq, slice(stream, 2 * kMss, kMss)));
    p.expect_nothing();
    p.advance(40ms);
    p.expect({.flags = kAck, .ack = kPeerSeq + 3 * kMss});
    CHECK(p.app().received == stream);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+3 tcp_segments_out+2 tcp_bytes_received+4380");
  }

  TEST_CASE("a delayed ACK rides on data we send in the meantime") {
    TcpPeer p = TcpPeer::listening();
    p.handshake();
    const Buffer payload = pattern(10);
    p.app().on_readable = [](tcp::Connection& c) {
      const Buffer reply = pattern(20, 9);
      c.write(reply);
    };
    p.send(data(kPeerSeq, kOurSeq, payload));
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .ack = kPeerSeq + 10, .len = 20});
    p.advance(40ms);
    p.expect_nothing();  // no separate ACK is owed any more
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_received+10 tcp_bytes_sent+20");
  }

  TEST_CASE("sequence numbers wrap around 2^32") {
    TcpPeer p = TcpPeer::listening();
    constexpr std::uint32_t kIss = 0xffffff00U;
    p.handshake({}, kPeerWindow, kIss);
    const Buffer stream = pattern(600);
    p.send(data(kIss + 1 + 300, kOurSeq, slice(stream, 300, 300)));  // past the wrap, early
    p.expect({.flags = kAck, .ack = kIss + 1});
    p.send(data(kIss + 1, kOurSeq, slice(stream, 0, 300)));  // straddles the wrap
    p.expect({.flags = kAck, .ack = kIss + 1 + 600});
    CHECK(p.app().received == stream);
    CHECK(p.conn()->rcv().nxt.raw == 345U);  // 0xffffff01 + 600, wrapped
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_received+600 tcp_out_of_order+1");
  }
}

TEST_SUITE("tcp.reassembly") {
  TEST_CASE("out-of-order segments are kept, SACKed in immediate duplicate ACKs, and reassembled") {
    TcpPeer p = established_with_sack();
    const Buffer stream = pattern(400);
    p.send(data(kPeerSeq + 100, kOurSeq, slice(stream, 100, 100)));
    CHECK(p.app().received.empty());
    Sent a = p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq});
    REQUIRE(a.seg.options.sack_count == 1);
    CHECK(a.seg.options.sack[0] == block(kPeerSeq + 100, kPeerSeq + 200));

    p.send(data(kPeerSeq + 300, kOurSeq, slice(stream, 300, 100)));
    a = p.expect({.flags = kAck, .ack = kPeerSeq});
    REQUIRE(a.seg.options.sack_count == 2);  // RFC 2018 §4: the newest block first
    CHECK(a.seg.options.sack[0] == block(kPeerSeq + 300, kPeerSeq + 400));
    CHECK(a.seg.options.sack[1] == block(kPeerSeq + 100, kPeerSeq + 200));

    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 100)));  // fills the first hole
    a = p.expect({.flags = kAck, .ack = kPeerSeq + 200});    // at once: a hole was filled
    REQUIRE(a.seg.options.sack_count == 1);
    CHECK(a.seg.options.sack[0] == block(kPeerSeq + 300, kPeerSeq + 400));
    CHECK(p.app().received == Buffer(stream.begin(), stream.begin() + 200));

    p.send(data(kPeerSeq + 200, kOurSeq, slice(stream, 200, 100)));
    a = p.expect({.flags = kAck, .ack = kPeerSeq + 400});
    CHECK(a.seg.options.sack_count == 0);
    CHECK(p.app().received == stream);
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+4 tcp_segments_out+4 tcp_bytes_received+400 tcp_out_of_order+2");
  }

  TEST_CASE("without SACK-permitted no SACK blocks are sent") {
    TcpPeer p = TcpPeer::established();
    const Buffer stream = pattern(200);
    p.send(data(kPeerSeq + 100, kOurSeq, slice(stream, 100, 100)));
    const Sent a = p.expect({.flags = kAck, .ack = kPeerSeq});
    CHECK(a.seg.options.sack_count == 0);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_out_of_order+1");
  }

  TEST_CASE("a duplicate segment is acknowledged at once and not delivered twice") {
    TcpPeer p = TcpPeer::established();
    const Buffer payload = pattern(100);
    p.send(data(kPeerSeq, kOurSeq, payload));
    p.send(data(kPeerSeq, kOurSeq, payload));
    p.expect({.flags = kAck, .ack = kPeerSeq + 100});
    p.expect_nothing();
    CHECK(p.app().received == payload);
    CHECK(p.drops() == "tcp_out_of_window+1");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+1 tcp_bytes_received+100");
  }

  TEST_CASE("an overlapping segment delivers only its new bytes") {
    TcpPeer p = TcpPeer::established();
    const Buffer stream = pattern(150);
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 100)));
    p.send(data(kPeerSeq + 50, kOurSeq, slice(stream, 50, 100)));
    CHECK(p.app().received == stream);
    CHECK(p.conn()->rcv().nxt.raw == kPeerSeq + 150);
    p.advance(40ms);
    p.expect({.flags = kAck, .ack = kPeerSeq + 150});
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+1 tcp_bytes_received+150");
  }

  TEST_CASE("overlapping out-of-order segments merge into one SACK block") {
    TcpPeer p = established_with_sack();
    const Buffer stream = pattern(400);
    p.send(data(kPeerSeq + 200, kOurSeq, slice(stream, 200, 100)));
    p.expect({.flags = kAck, .ack = kPeerSeq});
    p.send(data(kPeerSeq + 250, kOurSeq, slice(stream, 250, 150)));
    const Sent a = p.expect({.flags = kAck, .ack = kPeerSeq});
    REQUIRE(a.seg.options.sack_count == 1);
    CHECK(a.seg.options.sack[0] == block(kPeerSeq + 200, kPeerSeq + 400));
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 220)));  // overlaps the held range too
    p.expect({.flags = kAck, .ack = kPeerSeq + 400});
    CHECK(p.app().received == stream);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+3 tcp_bytes_received+400 tcp_out_of_order+2");
  }

  TEST_CASE("data beyond the advertised window is trimmed, a FIN beyond it dropped") {
    TcpPeer p = TcpPeer::listening();
    p.app().auto_read = false;
    p.handshake();
    const Buffer stream = pattern(17000);
    auto s = data(kPeerSeq, kOurSeq, stream);
    s.flags.bits |= kFin;
    p.send(s);
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    CHECK(p.state() == State::Established);  // the FIN lay beyond the window
    CHECK(p.conn()->recv_buffered() == 16384);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_received+16384");
  }

  TEST_CASE("a FIN that arrives ahead of missing data takes effect once the hole is filled") {
    TcpPeer p = TcpPeer::listening();
    p.app().close_on_peer_fin = false;
    p.handshake();
    const Buffer stream = pattern(200);
    auto tail = data(kPeerSeq + 100, kOurSeq, slice(stream, 100, 100));
    tail.flags.bits |= kFin;
    p.send(tail);
    p.expect({.flags = kAck, .ack = kPeerSeq});
    CHECK(p.state() == State::Established);
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 100)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 201});
    CHECK(p.state() == State::CloseWait);
    CHECK(p.app().received == stream);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_received+200 tcp_out_of_order+1");
  }

  TEST_CASE("at most 32 holes are held; a segment needing a 33rd is dropped and re-sent later") {
    TcpPeer p = TcpPeer::established();
    const Buffer stream = pattern(70);
    for (std::uint32_t off = 2; off <= 66; off += 2) {
      p.send(data(kPeerSeq + off, kOurSeq, slice(stream, off, 1)));
      p.expect({.flags = kAck, .ack = kPeerSeq});
    }
    CHECK(p.drops() == "tcp_reassembly_full+1");
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 70)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 70});
    CHECK(p.app().received == stream);
    CHECK(p.events() ==
          "tcp_segments_in+34 tcp_segments_out+34 tcp_bytes_received+70 tcp_out_of_order+32");
  }

  TEST_CASE("out-of-order data is placed correctly after the application emptied the ring") {
    TcpPeer p = TcpPeer::established();
    const Buffer stream = pattern(250);
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 100)));  // read at once: the ring is empty
    p.send(data(kPeerSeq + 150, kOurSeq, slice(stream, 150, 100)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 100});
    p.send(data(kPeerSeq + 100, kOurSeq, slice(stream, 100, 50)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 250});
    CHECK(p.app().received == stream);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+2 tcp_bytes_received+250 tcp_out_of_order+1");
  }

  TEST_CASE("out-of-order data wraps around the end of the receive ring intact") {
    TcpPeer p = TcpPeer::established();  // 16 KiB ring
    const Buffer stream = pattern(16000 + 3000, 3);
    p.send(data(kPeerSeq, kOurSeq, slice(stream, 0, 16000)));  // head now near the ring's end
    p.expect({.flags = kAck, .ack = kPeerSeq + 16000});
    p.send(data(kPeerSeq + 17000, kOurSeq, slice(stream, 17000, 2000)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 16000});
    p.send(data(kPeerSeq + 16000, kOurSeq, slice(stream, 16000, 1000)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 19000});
    CHECK(p.app().received == stream);
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+3 tcp_segments_out+3 tcp_bytes_received+19000 tcp_out_of_order+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
