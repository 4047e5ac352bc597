// The services on a real engine: echo (RFC 862) with end-to-end backpressure, discard (RFC 863),
// chargen (RFC 864) and the HTTP responder that closes actively.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

/// A lossless peer: sends `out` as our window allows, collects what we send in order, and
/// acknowledges it with `window`.
struct LosslessPeer {
  LosslessPeer(TcpPeer& tp, Buffer o) : p{tp}, out{std::move(o)} {}
  TcpPeer& p;
  Buffer out;
  std::size_t sent = 0;
  Buffer received;
  std::uint32_t our_ack = kPeerSeq;
  std::uint32_t our_wnd = 0;
  std::uint16_t window = kPeerWindow;
  bool saw_fin = false;

  std::uint32_t ack_no() const {
    return kOurSeq + static_cast<std::uint32_t>(received.size()) + (saw_fin ? 1U : 0U);
  }
  void absorb() {
    for (const Sent& s : p.take_all()) {
      if ((s.flags() & kRst) != 0) { FAIL_CHECK("unexpected RST: ", s.text()); }
      our_ack = s.ack();
      our_wnd = s.seg.window;
      if (!s.payload.empty()) {
        CHECK(s.seq() == kOurSeq + received.size());  // lossless: always in order
        received.insert(received.end(), s.payload.begin(), s.payload.end());
      }
      if ((s.flags() & kFin) != 0) { saw_fin = true; }
    }
  }
  /// Sends new data while our advertised window has room; true if anything was sent.
  bool send_what_fits() {
    bool any = false;
    while (sent < out.size()) {
      const std::uint32_t seq = kPeerSeq + static_cast<std::uint32_t>(sent);
      const std::int32_t room = static_cast<std::int32_t>(our_ack + our_wnd - seq);
      if (room <= 0) { break; }
      const std::size_t len =
          std::min({std::size_t{kMss}, out.size() - sent, static_cast<std::size_t>(room)});
      p.send(data(seq, ack_no(), wire::Bytes{out}.subspan(sent, len), window));
      sent += len;
      any = true;
      absorb();
    }
    return any;
  }
  void ack_all() {
    p.send(ack(kPeerSeq + static_cast<std::uint32_t>(sent), ack_no(), window));
    absorb();
  }
};

Buffer chargen_stream(std::size_t n) {
  Buffer b;
  for (std::size_t line = 0; b.size() < n; ++line) {
    for (std::size_t i = 0; i < 72; ++i) {
      b.push_back(static_cast<std::byte>(' ' + (line + i) % 95));
    }
    b.push_back(std::byte{'\r'});
    b.push_back(std::byte{'\n'});
  }
  b.resize(n);
  return b;
}

std::string text(const Buffer& b) {
  std::string s;
  for (const std::byte c : b) { s.push_back(static_cast<char>(c)); }
  return s;
}

TEST_SUITE("tcp.services") {
  TEST_CASE("echo: a peer that never reads closes our window too, and nothing is lost") {
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Echo);
    p.handshake({}, 0);  // the peer's window is zero from the start
    LosslessPeer peer{p, pattern(64 * 1024, 11)};
    peer.window = 0;
    peer.our_wnd = 16384;
    for (int i = 0; i < 50 && (peer.send_what_fits() || peer.our_wnd > 0); ++i) {
      p.advance(40ms);
      peer.absorb();
    }
    // Echo moved 16 KiB into its send buffer, then stopped reading: 16 KiB wait unread.
    CHECK(peer.received.empty());
    CHECK(peer.sent == 2 * 16384);
    CHECK(peer.our_wnd == 0);
    CHECK(p.conn()->send_buffered() == 16384);
    CHECK(p.conn()->recv_buffered() == 16384);
    p.check_invariants();

    peer.window = kPeerWindow;  // the peer starts reading
    peer.ack_all();
    for (int i = 0; i < 500 && peer.received.size() < peer.out.size(); ++i) {
      peer.send_what_fits();
      peer.ack_all();
      p.advance(40ms);
      peer.absorb();
      p.check_invariants();
    }
    CHECK(peer.sent == peer.out.size());
    CHECK(peer.received == peer.out);
    CHECK(p.state() == State::Established);
    CHECK(p.drops() == "");
    CHECK(p.stats().get(Counter::TcpRetransmits) == 0);
    CHECK(p.stats().get(Counter::TcpBytesReceived) == 64 * 1024);
    CHECK(p.stats().get(Counter::TcpBytesSent) == 64 * 1024);
  }

  TEST_CASE("discard reads everything, keeps the window open, and closes after the peer") {
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Discard);
    p.handshake();
    const Buffer stream = pattern(3 * kMss);
    for (std::uint32_t i = 0; i < 3; ++i) {
      p.send(data(kPeerSeq + i * kMss, kOurSeq, wire::Bytes{stream}.subspan(i * kMss, kMss)));
    }
    p.expect({.flags = kAck, .ack = kPeerSeq + 2 * kMss, .window = 16384});
    p.advance(40ms);
    p.expect({.flags = kAck, .ack = kPeerSeq + 3 * kMss, .window = 16384});
    CHECK(p.conn()->recv_buffered() == 0);
    p.send(fin(kPeerSeq + 3 * kMss, kOurSeq));
    p.expect({.flags = kAck | kFin, .seq = kOurSeq, .ack = kPeerSeq + 3 * kMss + 1});
    CHECK(p.state() == State::LastAck);
    p.send(ack(kPeerSeq + 3 * kMss + 1, kOurSeq + 1));
    CHECK(p.state() == State::Closed);
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+5 tcp_segments_out+3 tcp_bytes_received+4380");
  }

  TEST_CASE(
      "chargen streams the RFC 864 pattern as fast as the windows allow, and stops on close") {
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Chargen);
    p.handshake();
    LosslessPeer peer{p, {}};
    peer.absorb();
    CHECK(peer.received.size() == 10 * kMss);  // the initial congestion window
    CHECK(text(Buffer(peer.received.begin(), peer.received.begin() + 74)) ==
          " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n");
    for (int i = 0; i < 20; ++i) { peer.ack_all(); }
    CHECK(peer.received.size() > 100000);
    CHECK(peer.received == chargen_stream(peer.received.size()));

    // The peer closes: chargen closes too, after what it has queued; nothing new is written.
    const std::size_t before = peer.received.size();
    p.send(fin(kPeerSeq, peer.ack_no()));
    peer.absorb();
    CHECK(p.state() == State::LastAck);
    const std::size_t queued = p.conn()->send_buffered();
    CHECK(queued <= 16384);
    for (int i = 0; i < 50 && !peer.saw_fin; ++i) {
      p.send(ack(kPeerSeq + 1, peer.ack_no()));
      peer.absorb();
    }
    CHECK(peer.saw_fin);
    CHECK(peer.received.size() <= before + queued);
    CHECK(peer.received == chargen_stream(peer.received.size()));
    p.send(ack(kPeerSeq + 1, peer.ack_no()));
    CHECK(p.state() == State::Closed);
    CHECK(p.drops() == "");
    CHECK(p.stats().get(Counter::TcpRetransmits) == 0);
    CHECK(p.stats().get(Counter::TcpBytesSent) == peer.received.size());
  }

  TEST_CASE("http answers a GET, then closes actively: FIN_WAIT_1 ... TIME_WAIT -> CLOSED") {
    TcpPeer p = TcpPeer::listening(kPort, service::Kind::Http);
    p.handshake();
    const std::string req = "GET / HTTP/1.1\r\nHost: 10.0.0.2\r\n\r\n";
    const auto req_bytes = std::as_bytes(std::span<const char>{req});
    const auto n = static_cast<std::uint32_t>(req.size());
    p.send(data(kPeerSeq, kOurSeq, req_bytes));
    const Sent resp = p.expect({.flags = kAck | kPsh, .seq = kOurSeq, .ack = kPeerSeq + n});
    const std::string body = text(resp.payload);
    CHECK(body.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(body.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(body.find("10.0.0.1:40000 -> 10.0.0.2:8080") != std::string::npos);
    const auto header_end = body.find("\r\n\r\n");
    REQUIRE(header_end != std::string::npos);
    const std::string length = "Content-Length: " + std::to_string(body.size() - header_end - 4);
    CHECK(body.find(length) != std::string::npos);
    const auto len = static_cast<std::uint32_t>(resp.payload.size());
    p.expect({.flags = kAck | kFin, .seq = kOurSeq + len, .ack = kPeerSeq + n});
    CHECK(p.state() == State::FinWait1);

    p.send(ack(kPeerSeq + n, kOurSeq + len + 1));
    CHECK(p.state() == State::FinWait2);
    p.send(fin(kPeerSeq + n, kOurSeq + len + 1));
    p.expect({.flags = kAck, .seq = kOurSeq + len + 1, .ack = kPeerSeq + n + 1});
    CHECK(p.state() == State::TimeWait);
    p.advance(1s);
    CHECK(p.state() == State::Closed);
    p.expect_nothing();
    CHECK(p.transitions().ends_with(
        "ESTABLISHED->FIN_WAIT_1(app_close) FIN_WAIT_1->FIN_WAIT_2(segment) "
        "FIN_WAIT_2->TIME_WAIT(segment) TIME_WAIT->CLOSED(timeout)"));
    CHECK(p.drops() == "");
    CHECK(p.events() == "tcp_segments_in+3 tcp_segments_out+3 tcp_bytes_received+" +
                            std::to_string(n) + " tcp_bytes_sent+" + std::to_string(len) +
                            " tcp_time_wait_expired+1");
  }
}

}  // namespace
}  // namespace tapsrv::test
