// Flow control (RFC 9293 §3.8.6): the peer's window and zero-window probing, our advertised
// window and window updates, delayed ACKs, Nagle, and the initial congestion window.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

TcpPeer sending(std::size_t n, std::uint16_t window, const tcp::Config& cfg = test_config()) {
  TcpPeer p = TcpPeer::listening(kPort, cfg);
  p.app().to_write = pattern(n);
  p.handshake({}, window);
  return p;
}

TEST_SUITE("tcp.flow") {
  TEST_CASE("a zero window stops sending; the persist timer probes; an update resumes sending") {
    TcpPeer p = sending(100, 0);
    p.expect_nothing();
    CHECK(p.conn()->send_buffered() == 100);
    CHECK(p.engine().next_deadline() == p.now() + 1s);
    p.advance(1s);
    p.expect({.flags = kAck, .seq = kOurSeq - 1, .ack = kPeerSeq, .len = 0});  // Linux's probe
    p.advance(1999ms);
    p.expect_nothing();
    p.advance(1ms);  // backed off
    p.expect({.flags = kAck, .seq = kOurSeq - 1, .len = 0});
    p.send(ack(kPeerSeq, kOurSeq, 1000));  // the window opens
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .ack = kPeerSeq, .len = 100});
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+1 tcp_segments_out+3 tcp_bytes_sent+100 tcp_window_probes+2");
  }

  TEST_CASE("a window that closes with data in flight switches to probing once all is acked") {
    TcpPeer p = sending(4000, 2 * kMss);
    p.expect({.seq = kOurSeq, .len = kMss});
    p.expect({.seq = kOurSeq + kMss, .len = kMss});
    p.expect_nothing();
    p.advance(10ms);
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss, 0));  // RTT 10 ms: RTO 200 ms
    p.expect_nothing();
    p.advance(200ms);
    p.expect({.flags = kAck, .seq = kOurSeq + 2 * kMss - 1, .len = 0});
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss, kPeerWindow));
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 2 * kMss, .len = 4000 - 2 * kMss});
    CHECK(p.drops() == "");
    CHECK(p.events() ==
          "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_sent+1080 tcp_window_probes+1");
  }

  TEST_CASE("our window shrinks as the receive buffer fills; draining it sends a window update") {
    TcpPeer p = TcpPeer::listening();
    p.app().auto_read = false;
    p.app().to_write = pattern(100);  // its ACK later wakes the application
    p.handshake();
    p.expect({.flags = kAck | kPsh, .window = 16384, .len = 100});
    const Buffer stream = pattern(16384, 5);
    std::uint32_t off = 0;
    for (int pair = 1; pair <= 5; ++pair) {
      for (int i = 0; i < 2; ++i, off += kMss) {
        p.send(data(kPeerSeq + off, kOurSeq, wire::Bytes{stream}.subspan(off, kMss)));
      }
      p.expect({.flags = kAck, .ack = kPeerSeq + off, .window = 16384 - off});
    }
    p.send(data(kPeerSeq + off, kOurSeq, wire::Bytes{stream}.subspan(off)));  // the last 1784
    p.expect_nothing();
    p.advance(40ms);
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    CHECK(p.app().received.empty());
    CHECK(p.conn()->recv_buffered() == 16384);

    p.app().on_writable = [&app = p.app()](tcp::Connection& c) { app.read_all(c); };
    p.send(ack(kPeerSeq + 16384, kOurSeq + 100, kPeerWindow));
    p.expect({.flags = kAck, .seq = kOurSeq + 100, .ack = kPeerSeq + 16384, .window = 16384});
    p.expect_nothing();
    CHECK(p.app().received == stream);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+12 tcp_segments_out+7 tcp_bytes_received+16384");
  }

  TEST_CASE("a probe below RCV.NXT at a zero window is answered with the window") {
    TcpPeer p = TcpPeer::listening();
    p.app().auto_read = false;
    p.handshake();
    const Buffer stream = pattern(16384);
    p.send(data(kPeerSeq, kOurSeq, stream));
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    p.send(ack(kPeerSeq + 16384 - 1, kOurSeq));  // Linux's zero-window probe
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    CHECK(p.drops() == "tcp_out_of_window+1");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_received+16384");
  }

  // RFC 9293 §3.8.6.1 / §3.10.7.4: with a zero window "it must still send an acknowledgment
  // showing its next expected sequence number and current window (zero)". Stacks that probe
  // with one new byte (BSD, Windows) and a peer's FIN must get that answer; the text we could
  // not take is counted, never lost silently, as a zero-window probe and not as out of window:
  // the segment is acceptable and its ACK is processed (Linux counts TCPZeroWindowDrop).
  TEST_CASE("a one-byte probe or a FIN at RCV.NXT at a zero window is answered with an ACK") {
    TcpPeer p = TcpPeer::listening();
    p.app().auto_read = false;
    p.handshake();
    const Buffer stream = pattern(16384 + 1);
    p.send(data(kPeerSeq, kOurSeq, wire::Bytes{stream}.first(16384)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    p.mark();
    SUBCASE("one byte of new data") {
      p.send(data(kPeerSeq + 16384, kOurSeq, wire::Bytes{stream}.subspan(16384)));
    }
    SUBCASE("a bare FIN") { p.send(fin(kPeerSeq + 16384, kOurSeq)); }
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    CHECK(p.conn()->recv_buffered() == 16384);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_zero_window_probes_in+1");
  }

  TEST_CASE("at a zero window, only a segment not at RCV.NXT is out of window") {
    TcpPeer p = TcpPeer::listening();
    p.app().auto_read = false;
    p.app().to_write = pattern(100);
    p.handshake();
    p.expect({.len = 100});
    const Buffer stream = pattern(16384 + 2);
    p.send(data(kPeerSeq, kOurSeq, wire::Bytes{stream}.first(16384)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    p.mark();
    // A byte one past RCV.NXT: unacceptable, answered (RFC 9293 §3.10.7.4 first).
    p.send(data(kPeerSeq + 16385, kOurSeq, wire::Bytes{stream}.subspan(16385)));
    p.expect({.flags = kAck, .ack = kPeerSeq + 16384, .window = 0});
    CHECK(p.drops() == "tcp_out_of_window+1");
    // A probe at RCV.NXT that also acknowledges our data: its ACK is taken, its byte is not.
    p.mark();
    p.send(data(kPeerSeq + 16384, kOurSeq + 100, wire::Bytes{stream}.subspan(16384, 1)));
    p.expect({.flags = kAck, .seq = kOurSeq + 100, .ack = kPeerSeq + 16384, .window = 0});
    CHECK(p.conn()->snd().una.raw == kOurSeq + 100);
    CHECK(p.conn()->recv_buffered() == 16384);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_zero_window_probes_in+1");
  }

  TEST_CASE("Nagle holds a small segment while data is in flight") {
    SUBCASE("on") {
      TcpPeer p = sending(100, kPeerWindow);
      p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .len = 100});
      p.app().on_readable = [](tcp::Connection& c) {
        const Buffer more = pattern(50, 2);
        c.write(more);
      };
      const Buffer req = pattern(10);
      p.send(data(kPeerSeq, kOurSeq, req));  // does not acknowledge our 100 bytes
      p.expect_nothing();                    // 50 bytes held, the ACK delayed
      p.advance(40ms);
      p.expect({.flags = kAck, .seq = kOurSeq + 100, .ack = kPeerSeq + 10, .len = 0});
      p.send(ack(kPeerSeq + 10, kOurSeq + 100));
      p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 100, .len = 50});
      CHECK(p.drops() == "");
      CHECK(p.events() ==
            "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_received+10 tcp_bytes_sent+50");
    }
    SUBCASE("off") {
      auto cfg = test_config();
      cfg.nagle = false;
      TcpPeer p = sending(100, kPeerWindow, cfg);
      p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .len = 100});
      p.app().on_readable = [](tcp::Connection& c) {
        const Buffer more = pattern(50, 2);
        c.write(more);
      };
      const Buffer req = pattern(10);
      p.send(data(kPeerSeq, kOurSeq, req));
      p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 100, .ack = kPeerSeq + 10, .len = 50});
      CHECK(p.drops() == "");
      CHECK(p.events() ==
            "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_received+10 tcp_bytes_sent+50");
    }
  }

  TEST_CASE("the initial congestion window is 10 segments (RFC 6928); ACKs grow it") {
    TcpPeer p = sending(16384, kPeerWindow);
    for (std::uint32_t i = 0; i < 10; ++i) { p.expect({.seq = kOurSeq + i * kMss, .len = kMss}); }
    p.expect_nothing();
    p.send(ack(kPeerSeq, kOurSeq + 2 * kMss));
    p.expect({.seq = kOurSeq + 10 * kMss, .len = kMss});  // slow start: +1 MSS
    p.expect_nothing();                                   // the last 324 bytes wait for Nagle
    p.send(ack(kPeerSeq, kOurSeq + 11 * kMss));
    p.expect({.flags = kAck | kPsh, .seq = kOurSeq + 11 * kMss, .len = 16384 - 11 * kMss});
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+2 tcp_bytes_sent+1784");
  }

  TEST_CASE("never more than the peer's window, and no silly small segment") {
    TcpPeer p = sending(5000, 2000);
    p.expect({.seq = kOurSeq, .len = kMss});
    p.expect_nothing();  // 540 usable bytes are less than half the largest window offered
    p.send(ack(kPeerSeq, kOurSeq + kMss, 2000));
    p.expect({.seq = kOurSeq + kMss, .len = kMss});
    p.expect_nothing();
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_bytes_sent+1460");
  }

  // RFC 1122 §4.2.3.4 / RFC 9293 §3.8.6.2.1: when the peer's window is non-zero but below both
  // one MSS and half the largest window it ever offered, and nothing is in flight, the SWS
  // override timeout must let data go; Linux arms its probe timer the same way
  // (tcp_check_probe_timer).
  TEST_CASE("a small non-zero window with nothing in flight still gets data within a second") {
    TcpPeer p = sending(3000, 1000);  // the SYN offered 65535, so 1000 is "silly"
    p.advance(1s);
    const auto sent = p.take_all();
    REQUIRE(!sent.empty());
    CHECK(sent.front().seq() == kOurSeq);
    CHECK(sent.front().payload.size() <= 1000);
    CHECK(p.drops() == "");
  }
}

}  // namespace
}  // namespace tapsrv::test
