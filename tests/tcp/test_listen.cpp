// CLOSED and LISTEN (RFC 9293 §3.10.7.1-2): resets for closed ports, what a listener refuses,
// and the limits on half-open and total connections.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

TEST_SUITE("tcp.closed") {
  TEST_CASE("no listener: SYN gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>") {
    TcpPeer p;  // nothing listens
    auto s = syn(kRemoteIss);
    p.send(s);
    p.expect({.flags = kRst | kAck, .seq = 0, .ack = kRemoteIss + 1, .window = 0, .len = 0});
    p.expect_nothing();
    CHECK(p.drops() == "tcp_no_listener+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
    CHECK(p.engine().connection_count() == 0);
  }

  TEST_CASE("RSTs to closed ports are rate-limited: a burst, then the steady rate") {
    tcp::Config c = test_config();
    c.resets_per_second = 100;
    c.reset_burst = 20;
    TcpPeer p{c};
    for (std::uint32_t i = 0; i < 50; ++i) { p.send(syn(kRemoteIss + i)); }
    CHECK(p.take_all().size() == 20);
    p.advance(100ms);  // ten more tokens
    for (std::uint32_t i = 0; i < 50; ++i) { p.send(syn(kRemoteIss + i)); }
    CHECK(p.take_all().size() == 10);
    CHECK(p.drops() == "tcp_no_listener+100");
    CHECK(p.events() ==
          "tcp_segments_in+100 tcp_segments_out+30 tcp_resets_sent+30 tcp_resets_rate_limited+70");
  }

  TEST_CASE("no listener: data without ACK is answered with ack = SEG.SEQ + SEG.LEN") {
    TcpPeer p;
    const Buffer payload = pattern(10);
    p.send(segment(kPsh | kFin, 777, 0, 100, payload));  // 10 bytes + FIN = SEG.LEN 11
    p.expect({.flags = kRst | kAck, .seq = 0, .ack = 777 + 11});
    CHECK(p.drops() == "tcp_no_listener+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }

  TEST_CASE("no listener: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>") {
    TcpPeer p;
    p.send(ack(kRemoteIss, 424242));
    const Sent r = p.expect({.flags = kRst, .seq = 424242, .len = 0});
    CHECK(r.id.remote_port == kPeerPort);
    CHECK(r.seg.src_port == kPort);
    CHECK(r.seg.dst_port == kPeerPort);
    CHECK(p.drops() == "tcp_no_listener+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }

  TEST_CASE("no listener: an RST is never answered") {
    TcpPeer p;
    p.send(rst(1234));
    auto ra = segment(kRst | kAck, 1234, 99);
    p.send(ra);
    p.expect_nothing();
    CHECK(p.drops() == "tcp_rst_no_connection+2");
    CHECK(p.events() == "tcp_segments_in+2");
  }

  TEST_CASE("a listener on another port does not make this port open") {
    TcpPeer p = TcpPeer::listening(kPort + 1);
    p.send(syn(kRemoteIss));
    p.expect({.flags = kRst | kAck, .ack = kRemoteIss + 1});
    CHECK(p.state() == State::Closed);
    CHECK(p.drops() == "tcp_no_listener+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }
}

TEST_SUITE("tcp.listen") {
  TEST_CASE("LISTEN: an ACK gets <SEQ=SEG.ACK><CTL=RST> and no connection") {
    TcpPeer p = TcpPeer::listening();
    p.send(ack(kRemoteIss, 31337));
    p.expect({.flags = kRst, .seq = 31337});
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "tcp_listen_no_syn+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }

  TEST_CASE("LISTEN: an RST is dropped silently") {
    TcpPeer p = TcpPeer::listening();
    p.send(rst(kRemoteIss));
    p.expect_nothing();
    CHECK(p.drops() == "tcp_rst_no_connection+1");
    CHECK(p.events() == "tcp_segments_in+1");
  }

  TEST_CASE("LISTEN: a segment with neither SYN, ACK nor RST is dropped silently") {
    TcpPeer p = TcpPeer::listening();
    const Buffer payload = pattern(5);
    p.send(segment(kPsh, kRemoteIss, 0, 1000, payload));
    p.send(segment(kFin, kRemoteIss, 0, 1000));
    p.expect_nothing();
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "tcp_listen_no_syn+2");
    CHECK(p.events() == "tcp_segments_in+2");
  }

  TEST_CASE("LISTEN: SYN+FIN (a scanner's probe) is dropped without a reply") {
    TcpPeer p = TcpPeer::listening();
    p.send(segment(kSyn | kFin, kRemoteIss, 0));
    p.expect_nothing();
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "tcp_bad_syn_flags+1");
    CHECK(p.events() == "tcp_segments_in+1");
  }

  TEST_CASE("LISTEN: SYN+ACK is treated as an ACK and reset") {
    TcpPeer p = TcpPeer::listening();
    p.send(segment(kSyn | kAck, kRemoteIss, 777));
    p.expect({.flags = kRst, .seq = 777});
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "tcp_listen_no_syn+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }

  TEST_CASE(
      "cookies off: a full SYN backlog drops further SYNs; a completed handshake frees a slot") {
    auto cfg = test_config();
    cfg.syn_backlog = 2;
    cfg.syn_cookies = false;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    p.send(from_port(syn(100), 1001));
    p.expect({.flags = kSyn | kAck, .ack = 101, .to_port = 1001});
    p.send(from_port(syn(200), 1002));
    p.expect({.flags = kSyn | kAck, .ack = 201, .to_port = 1002});
    p.send(from_port(syn(300), 1003));
    p.expect_nothing();
    CHECK(p.state(1003) == State::Closed);
    CHECK(p.drops() == "tcp_backlog_full+1");

    p.send(from_port(ack(101, kLocalIss + 1), 1001));  // 1001 completes: one slot free
    CHECK(p.state(1001) == State::Established);
    p.send(from_port(syn(300), 1003));
    p.expect({.flags = kSyn | kAck, .ack = 301, .to_port = 1003});
    CHECK(p.state(1003) == State::SynReceived);
    p.expect_nothing();
    CHECK(p.drops() == "tcp_backlog_full+1");
    CHECK(p.events() ==
          "tcp_segments_in+5 tcp_segments_out+3 tcp_connections_accepted+3 "
          "tcp_connections_established+1");
  }

  TEST_CASE("max_connections reached: a SYN is refused with RST,ACK at once") {
    auto cfg = test_config();
    cfg.max_connections = 2;
    TcpPeer p = TcpPeer::listening(kPort, cfg);
    for (std::uint16_t port : {1001, 1002}) {
      p.send(from_port(syn(100), port));
      p.expect({.flags = kSyn | kAck, .to_port = port});
      p.send(from_port(ack(101, kLocalIss + 1), port));
      CHECK(p.state(port) == State::Established);
    }
    p.mark();
    p.send(from_port(syn(500), 1003));
    p.expect({.flags = kRst | kAck, .seq = 0, .ack = 501, .to_port = 1003});
    p.expect_nothing();
    CHECK(p.engine().connection_count() == 2);
    CHECK(p.drops() == "tcp_too_many_conns+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }

  TEST_CASE("a listener on another local address does not accept") {
    TestApp app;
    TestAppFactory factory{app};  // outlives the engine, as listen() requires
    TcpPeer p;
    p.engine().listen(p.now(), ip(10, 0, 0, 99), kPort, factory);
    p.send(syn(kRemoteIss));
    p.expect({.flags = kRst | kAck, .ack = kRemoteIss + 1});
    CHECK(p.drops() == "tcp_no_listener+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_resets_sent+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
