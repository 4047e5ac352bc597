// The handlers behind each service; private to the service layer.
#pragma once

#include <string>

#include "tapsrv/tcp/connection.hpp"
#include "tapsrv/tcp/handler.hpp"

namespace tapsrv::service {

/// RFC 862: everything that arrives goes back; the peer's FIN is answered after the last byte.
/// Backpressure is end to end: what cannot be sent stays unread, which closes the window.
class Echo final : public tcp::ConnectionHandler {
 public:
  explicit Echo(const tcp::FourTuple& /*id*/) {}
  void on_readable(tcp::Connection& c) override { pump(c); }
  void on_writable(tcp::Connection& c) override { pump(c); }

 private:
  static void pump(tcp::Connection& c);
};

/// RFC 863: reads and forgets.
class Discard final : public tcp::ConnectionHandler {
 public:
  explicit Discard(const tcp::FourTuple& /*id*/) {}
  void on_readable(tcp::Connection& c) override;
};

/// RFC 864: streams 72-character lines until the peer closes; input is discarded.
class Chargen final : public tcp::ConnectionHandler {
 public:
  explicit Chargen(const tcp::FourTuple& /*id*/) {}
  void on_established(tcp::Connection& c) override { fill(c); }
  void on_readable(tcp::Connection& c) override;
  void on_writable(tcp::Connection& c) override { fill(c); }

 private:
  void fill(tcp::Connection& c);
  std::size_t offset_ = 0;  // position in the repeating pattern
};

/// A tiny HTTP/1.1 responder: one request, one small page, then it closes the connection
/// itself (Connection: close), which makes tapsrv the side that closes actively.
class Http final : public tcp::ConnectionHandler {
 public:
  explicit Http(const tcp::FourTuple& id) : id_{id} {}
  void on_readable(tcp::Connection& c) override;
  /// Bytes looked at while searching for the end of the headers, for tests: at most four per
  /// byte received, however the request was cut into segments.
  [[nodiscard]] std::size_t bytes_scanned() const noexcept { return bytes_scanned_; }

 private:
  void respond(tcp::Connection& c, int status, std::string_view reason, bool head);
  void answer(tcp::Connection& c);
  tcp::FourTuple id_;
  std::string request_;
  std::size_t scanned_ = 0;  // request_[0, scanned_) holds no "\r\n\r\n"
  std::size_t bytes_scanned_ = 0;
  bool responded_ = false;
};

}  // namespace tapsrv::service
