// Memory of idle connections: buffers take storage as data moves and give it back once the
// connection has been idle for a sweep interval, so a million idle connections cost only their
// TCBs; out-of-order data and unacknowledged data are never given back.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

// test_config(): idle_buffer_sweep is 1 s, so storage goes between 1 s and 2 s after the data.
TEST_SUITE("tcp.idle_buffers") {
  TEST_CASE("a connection that went quiet gives its buffers back, and takes them again") {
    TcpPeer p = TcpPeer::established();
    CHECK_FALSE(p.conn()->holds_buffers());
    const Buffer first = pattern(100, 1);
    p.send(data(kPeerSeq, kOurSeq, first));
    CHECK(p.conn()->holds_buffers());
    CHECK(p.engine().next_deadline() == p.now() + 40ms);  // the delayed ACK, then the sweep
    p.advance(1s);
    CHECK(p.conn()->holds_buffers());  // it moved data during this interval
    p.advance(1s);
    CHECK_FALSE(p.conn()->holds_buffers());
    CHECK(p.engine().next_deadline() == std::nullopt);  // nothing to sweep: no timer at all

    const Buffer second = pattern(200, 2);
    p.send(data(kPeerSeq + 100, kOurSeq, second));
    CHECK(p.conn()->holds_buffers());
    CHECK(p.app().received == concat(first, second));
  }

  TEST_CASE("out-of-order data keeps the receive buffer until the hole is filled") {
    TcpPeer p = TcpPeer::established();
    const Buffer bytes = pattern(300, 3);
    const auto part = [&](std::size_t from, std::size_t n) {
      return wire::Bytes{bytes}.subspan(from, n);
    };
    p.send(data(kPeerSeq + 100, kOurSeq, part(100, 200)));  // bytes 0..99 are missing
    p.advance(3s);
    CHECK(p.conn()->holds_buffers());
    p.send(data(kPeerSeq, kOurSeq, part(0, 100)));
    CHECK(p.app().received == bytes);
    p.advance(3s);
    CHECK_FALSE(p.conn()->holds_buffers());
  }

  TEST_CASE("unacknowledged data keeps the send buffer") {
    TcpPeer p = TcpPeer::listening();
    p.app().to_write = pattern(500, 4);
    p.handshake();
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .len = 500});
    p.advance(900ms);  // retransmissions: the bytes must still be there
    p.take_all();
    CHECK(p.conn()->holds_buffers());
    p.send(ack(kPeerSeq, kOurSeq + 500));
    p.advance(3s);
    CHECK_FALSE(p.conn()->holds_buffers());
  }

  TEST_CASE("a closed connection leaves nothing for the sweep") {
    TcpPeer p = TcpPeer::established();
    const Buffer bytes = pattern(10);
    p.send(data(kPeerSeq, kOurSeq, bytes));
    p.send(segment(kRst, kPeerSeq + 10, 0));
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
  }
}

}  // namespace
}  // namespace tapsrv::test
