// TIME_WAIT as a record (tcp/time_wait.hpp): the connection is freed on entering TIME_WAIT,
// the record answers as TIME_WAIT must (RFC 9293 §3.10.7.4, RFC 6191, Linux
// tcp_timewait_state_process), expires after 2 MSL and is recycled beyond max_time_wait.
#include <doctest/doctest.h>

#include "support/tcp_peer.hpp"
#include "tapsrv/tcp/time_wait.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

// A record is what TIME_WAIT costs once the connection is gone: a cache line, against the
// kilobytes of a connection (whose buffers come on top).
static_assert(sizeof(tcp::TimeWaitRecord) <= 64);
static_assert(sizeof(tcp::Connection) > 8 * sizeof(tcp::TimeWaitRecord));

/// The TestApp closes at once; the peer on `port` acknowledges our FIN and sends its own, so
/// that we are in TIME_WAIT. With `ts`, the peer's clock reads `ts` throughout.
void drive_to_time_wait(TcpPeer& p, std::uint16_t port, std::optional<std::uint32_t> ts = {}) {
  const auto stamp = [&](wire::TcpSegment s) {
    if (ts) { s.options.timestamps = wire::Timestamps{*ts, 0}; }
    return from_port(s, port);
  };
  p.send(stamp(syn(kRemoteIss)));
  p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .to_port = port});
  p.send(stamp(ack(kPeerSeq, kOurSeq)));
  p.expect({.flags = kAck | kFin, .seq = kOurSeq, .to_port = port});
  p.send(stamp(ack(kPeerSeq, kOurSeq + 1)));
  p.send(stamp(fin(kPeerSeq, kOurSeq + 1)));
  p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1, .to_port = port});
  REQUIRE(p.state(port) == State::TimeWait);
}

TcpPeer closing_server(const tcp::Config& cfg = test_config()) {
  TcpPeer p = TcpPeer::listening(kPort, cfg);
  p.app().close_after_write = true;
  return p;
}

TEST_SUITE("tcp.time_wait") {
  TEST_CASE("entering TIME_WAIT frees the connection: a record, the handler closed") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    CHECK(p.conn() == nullptr);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.engine().time_wait_count() == 1);
    CHECK(p.app().log == "established readable closed");
    const tcp::TimeWaitRecord* r =
        p.engine().time_wait_record(tcp::FourTuple{kPeerIp, kPeerPort, kOurIp, kPort});
    REQUIRE(r != nullptr);
    CHECK(r->snd_nxt == wire::SeqNum{kOurSeq + 1});
    CHECK(r->rcv_nxt == wire::SeqNum{kPeerSeq + 1});
    CHECK(p.transitions().ends_with("FIN_WAIT_2->TIME_WAIT(segment)"));
  }

  TEST_CASE("a retransmitted FIN is acknowledged from the record and restarts 2 MSL") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort, 700);
    p.mark();
    p.advance(600ms);
    p.send(with_ts(fin(kPeerSeq, kOurSeq + 1), 701, 0));
    // The same ACK the connection sent: our sequence, RCV.NXT, TS.Recent echoed, our clock
    // (ISS-offset milliseconds) in TSval.
    const Sent a = p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1, .len = 0});
    REQUIRE(a.seg.options.timestamps);
    CHECK(a.seg.options.timestamps->echo == 700);  // the FIN was out of window: no update
    CHECK(a.seg.options.timestamps->value == kLocalIss + 600);
    CHECK(a.seg.window > 0);
    p.advance(999ms);
    CHECK(p.state() == State::TimeWait);
    p.advance(1ms);
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.transitions().ends_with("FIN_WAIT_2->TIME_WAIT(segment) TIME_WAIT->CLOSED(timeout)"));
    CHECK(p.drops() == "tcp_out_of_window+1");
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_time_wait_expired+1");
  }

  TEST_CASE("expiry after 2 MSL, not before; nothing is sent and no timer is left") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    p.mark();
    CHECK(p.engine().next_deadline() == p.now() + 1s);
    p.advance(999ms);
    CHECK(p.engine().time_wait_count() == 1);
    p.advance(1ms);
    CHECK(p.engine().time_wait_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
    p.expect_nothing();
    CHECK(p.events() == "tcp_time_wait_expired+1");
  }

  TEST_CASE("a new SYN reuses the 4-tuple with an ISS above the old incarnation's (TCP_TW_SYN)") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    p.mark();
    const std::uint32_t next_iss = kPeerSeq + 100000;
    p.send(syn(next_iss));
    // Linux: tw_snd_nxt + 65535 + 2, whatever IsnSource would say (FixedIsn: kLocalIss).
    const std::uint32_t iss = kOurSeq + 1 + 65537;
    p.expect({.flags = kSyn | kAck, .seq = iss, .ack = next_iss + 1});
    CHECK(p.state() == State::SynReceived);
    CHECK(p.engine().time_wait_count() == 0);
    p.send(ack(next_iss + 1, iss + 1));
    p.expect({.flags = kAck | kFin, .seq = iss + 1});  // the TestApp closes again
    CHECK(p.state() == State::FinWait1);
    CHECK(p.transitions().ends_with(
        "TIME_WAIT->CLOSED(segment) LISTEN->SYN_RECEIVED(segment) "
        "SYN_RECEIVED->ESTABLISHED(segment) ESTABLISHED->FIN_WAIT_1(app_close)"));
    CHECK(p.drops() == "");
  }

  TEST_CASE("an old SYN stays in TIME_WAIT and gets a rate-limited ACK") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    p.mark();
    p.send(syn(kRemoteIss));
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
    p.send(syn(kRemoteIss));
    p.expect_nothing();
    CHECK(p.state() == State::TimeWait);
    CHECK(p.drops() == "tcp_out_of_window+2");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+1 tcp_challenge_acks_limited+1");
  }

  TEST_CASE("text after the FIN is acknowledged, not taken; a bare ACK gets nothing") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    p.mark();
    p.send(ack(kPeerSeq + 1, kOurSeq + 1));
    p.expect_nothing();
    const Buffer payload = pattern(10);
    p.send(data(kPeerSeq + 1, kOurSeq + 1, payload));
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1, .len = 0});
    CHECK(p.state() == State::TimeWait);
    CHECK(p.app().received.empty());
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+2 tcp_segments_out+1");
  }

  TEST_CASE("an RST exactly at RCV.NXT closes the record (RFC 9293, Linux tcp_rfc1337=0)") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    p.mark();
    p.send(rst(kPeerSeq + 1));
    p.expect_nothing();
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().time_wait_count() == 0);
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions().ends_with("TIME_WAIT->CLOSED(segment)"));
    CHECK(p.events() == "tcp_segments_in+1 tcp_resets_received+1");
  }

  TEST_CASE("TIME_WAIT does not count against max_connections") {
    tcp::Config cfg = test_config();
    cfg.max_connections = 1;
    TcpPeer p = closing_server(cfg);
    for (std::uint16_t port = kPeerPort; port < kPeerPort + 5; ++port) {
      drive_to_time_wait(p, port);
    }
    CHECK(p.engine().time_wait_count() == 5);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.drops() == "");
  }

  TEST_CASE("beyond max_time_wait the oldest record is recycled, and counted") {
    tcp::Config cfg = test_config();
    cfg.max_time_wait = 3;
    TcpPeer p = closing_server(cfg);
    drive_to_time_wait(p, kPeerPort);  // expires at 1.0 s
    p.advance(100ms);
    drive_to_time_wait(p, kPeerPort + 1);  // 1.1 s
    drive_to_time_wait(p, kPeerPort + 2);  // 1.1 s
    p.advance(100ms);
    // A FIN repeated on the oldest makes it the youngest (1.2 s): the next oldest goes instead.
    p.send(fin(kPeerSeq, kOurSeq + 1));
    p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
    p.mark();
    drive_to_time_wait(p, kPeerPort + 3);  // 1.2 s
    CHECK(p.engine().time_wait_count() == 3);
    CHECK(p.state(kPeerPort + 1) == State::Closed);
    CHECK(p.state(kPeerPort) == State::TimeWait);
    CHECK(p.state(kPeerPort + 2) == State::TimeWait);
    CHECK(p.state(kPeerPort + 3) == State::TimeWait);
    CHECK(p.events().find("tcp_time_wait_recycled+1") != std::string::npos);
    const auto& last = p.observer().transitions.back();  // after FIN_WAIT_2->TIME_WAIT
    CHECK(last.cause == tcp::Cause::Recycled);
    CHECK(last.id.remote_port == kPeerPort + 1);
    CHECK(p.engine().time_wait().peak() == 3);
    // Each expires 2 MSL after its last refresh, in that order.
    p.advance(900ms);
    CHECK(p.engine().time_wait_count() == 2);
    CHECK(p.state(kPeerPort + 2) == State::Closed);
    p.advance(100ms);
    CHECK(p.engine().time_wait_count() == 0);
  }

  TEST_CASE("max_time_wait 0: TIME_WAIT closes at once, as Linux with tcp_max_tw_buckets 0") {
    tcp::Config cfg = test_config();
    cfg.max_time_wait = 0;
    TcpPeer p = closing_server(cfg);
    p.send(syn(kRemoteIss));
    p.expect({.flags = kSyn | kAck});
    p.send(ack(kPeerSeq, kOurSeq));
    p.expect({.flags = kAck | kFin});
    p.send(ack(kPeerSeq, kOurSeq + 1));
    p.mark();
    p.send(fin(kPeerSeq, kOurSeq + 1));
    p.expect({.flags = kAck, .ack = kPeerSeq + 1});
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().next_deadline() == std::nullopt);
    CHECK(p.transitions().ends_with("FIN_WAIT_2->TIME_WAIT(segment) TIME_WAIT->CLOSED(recycled)"));
    CHECK(p.events() == "tcp_segments_in+1 tcp_segments_out+1 tcp_time_wait_recycled+1");
  }

  TEST_CASE("an active open to a 4-tuple in TIME_WAIT is refused") {
    TcpPeer p = closing_server();
    drive_to_time_wait(p, kPeerPort);
    RecordingOutbox out{p.now()};
    TestApp app;
    TestAppFactory f{app};
    CHECK(p.engine().connect(p.now(), tcp::FourTuple{kPeerIp, kPeerPort, kOurIp, kPort}, f, out) ==
          nullptr);
    CHECK(out.total == 0);
  }
}

}  // namespace
}  // namespace tapsrv::test
