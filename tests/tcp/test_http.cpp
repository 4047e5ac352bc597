// The HTTP responder's answers to what a client may send: 200 (GET), headers only (HEAD), 400,
// 501 and 431, whether the request arrives whole or one byte per segment.
#include <doctest/doctest.h>

#include <string>

#include "service/handlers.hpp"
#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

std::string as_text(const Buffer& b) {
  std::string s;
  for (const std::byte c : b) { s.push_back(static_cast<char>(c)); }
  return s;
}

/// An established http connection; send() feeds request bytes, response() takes our answer.
struct HttpClient {
  HttpClient() { p.handshake(); }

  /// `req` in segments of at most `piece` bytes, each acknowledged by nothing in particular.
  void send(const std::string& req, std::size_t piece = 1 << 20) {
    for (std::size_t at = 0; at < req.size(); at += piece) {
      const auto part =
          std::as_bytes(std::span<const char>{req}.subspan(at, std::min(piece, req.size() - at)));
      p.send(data(kPeerSeq + sent, kOurSeq, part));
      sent += static_cast<std::uint32_t>(part.size());
    }
  }
  /// Everything we sent with payload, joined; checks that a FIN followed.
  std::string response() {
    std::string out;
    bool fin = false;
    for (const Sent& s : p.take_all()) {
      out += as_text(s.payload);
      fin = fin || s.seg.flags.fin();
    }
    CHECK(fin);  // the responder always closes after answering
    return out;
  }
  [[nodiscard]] const service::Http& handler() const {
    const auto* c = p.conn();
    REQUIRE(c != nullptr);
    const auto* h = dynamic_cast<const service::Http*>(c->handler());
    REQUIRE(h != nullptr);
    return *h;
  }

  TcpPeer p = TcpPeer::listening(kPort, service::Kind::Http);
  std::uint32_t sent = 0;
};

std::string header_block(const std::string& response) {
  return response.substr(0, response.find("\r\n\r\n") + 4);
}

TEST_SUITE("tcp.http") {
  TEST_CASE("GET and HEAD: the same headers, the body only for GET") {
    HttpClient get;
    get.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string full = get.response();
    REQUIRE(full.starts_with("HTTP/1.1 200 OK\r\n"));
    HttpClient head;
    head.send("HEAD / HTTP/1.0\r\n\r\n");
    const std::string headers = head.response();
    CHECK(headers == header_block(full));  // RFC 9110 §9.3.2: the same header fields
    CHECK(headers.find("Content-Length: " +
                       std::to_string(full.size() - header_block(full).size())) !=
          std::string::npos);
  }

  TEST_CASE("a malformed request line is 400 Bad Request") {
    for (const char* line : {"GET\r\n\r\n", "GET / HTTP/2\r\n\r\n", "\r\n\r\n",
                             "GET /"
                             " HTTP/1.1x\r\n\r\n"}) {
      CAPTURE(line);
      HttpClient c;
      c.send(line);
      CHECK(c.response().starts_with("HTTP/1.1 400 Bad Request\r\n"));
      CHECK(c.p.state() == State::FinWait1);
    }
  }

  TEST_CASE("a method other than GET and HEAD is 501 Not Implemented") {
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
      CAPTURE(method);
      HttpClient c;
      c.send(std::string{method} + " / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
      CHECK(c.response().starts_with("HTTP/1.1 501 Not Implemented\r\n"));
    }
  }

  TEST_CASE("headers past 8 KiB are 431, and nothing more is read") {
    HttpClient c;
    c.send("GET / HTTP/1.1\r\nX-Long: " + std::string(9000, 'a'), 1000);
    CHECK(c.response().starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  }

  TEST_CASE("a request one byte per segment is answered once, and scanned once") {
    // Regression: every read rescanned the whole request for its end, O(n^2) in its length,
    // about 32 MB of scanning for an 8 KB request sent a byte at a time.
    const std::string req = "GET / HTTP/1.1\r\nX-Pad: " + std::string(8000, 'p') + "\r\n\r\n";
    HttpClient c;
    c.send(req.substr(0, req.size() - 1), 1);
    for (const Sent& s : c.p.take_all()) { CHECK(s.payload.empty()); }  // ACKs, no answer yet
    // Each read looks at its new byte and the three before it: linear, 4 bytes per byte.
    CHECK(c.handler().bytes_scanned() <= 4 * req.size());
    c.send(req.substr(req.size() - 1), 1);
    CHECK(c.response().starts_with("HTTP/1.1 200 OK\r\n"));
  }

  TEST_CASE("the end of the headers is found wherever the segments split it") {
    const std::string req = "GET / HTTP/1.1\r\n\r\n";
    for (std::size_t piece = 1; piece <= 5; ++piece) {
      CAPTURE(piece);
      HttpClient c;
      c.send(req, piece);
      CHECK(c.response().starts_with("HTTP/1.1 200 OK\r\n"));
    }
  }
}

}  // namespace
}  // namespace tapsrv::test
