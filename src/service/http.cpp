#include <string>

#include "service/handlers.hpp"

namespace tapsrv::service {
namespace {

// Requests beyond this are refused: bounded memory whatever a client sends.
constexpr std::size_t kMaxRequest = 8192;

std::string text_of(const tcp::FourTuple& id) {
  auto port = [](std::uint16_t p) { return std::to_string(p); };
  return std::string{wire::to_text(id.remote_ip).view()} + ":" + port(id.remote_port) + " -> " +
         std::string{wire::to_text(id.local_ip).view()} + ":" + port(id.local_port);
}

}  // namespace

void Http::on_readable(tcp::Connection& c) {
  constexpr std::string_view kEnd = "\r\n\r\n";
  while (c.readable() > 0 && !responded_) {
    const auto chunk = c.peek(std::min(c.readable(), kMaxRequest + 4 - request_.size()));
    for (const std::byte b : chunk) { request_.push_back(static_cast<char>(b)); }
    c.consume(chunk.size());
    // Only what is new is searched, from far enough back to catch an end split across reads:
    // rescanning the whole request on every read was O(n^2) for one sent a byte at a time.
    const std::size_t from = scanned_ < kEnd.size() - 1 ? 0 : scanned_ - (kEnd.size() - 1);
    bytes_scanned_ += request_.size() - from;
    const bool complete = request_.find(kEnd, from) != std::string::npos;
    scanned_ = request_.size();
    if (complete) {
      answer(c);
    } else if (request_.size() > kMaxRequest) {
      respond(c, 431, "Request Header Fields Too Large", false);
    }
  }
  if (responded_) { c.consume(c.readable()); }  // anything after the request is ignored
  if (c.peer_closed() && !responded_) { c.close(); }
}

void Http::answer(tcp::Connection& c) {
  const auto line_end = request_.find("\r\n");
  const std::string_view line{request_.data(), line_end};
  const auto sp = line.find(' ');
  const auto method = line.substr(0, sp);
  const bool well_formed =
      sp != std::string_view::npos && (line.ends_with(" HTTP/1.1") || line.ends_with(" HTTP/1.0"));
  if (!well_formed) {
    respond(c, 400, "Bad Request", false);
  } else if (method == "GET" || method == "HEAD") {
    respond(c, 200, "OK", method == "HEAD");
  } else {
    respond(c, 501, "Not Implemented", false);
  }
}

void Http::respond(tcp::Connection& c, int status, std::string_view reason, bool head) {
  responded_ = true;
  std::string body;
  if (status == 200) {
    body =
        "<!doctype html>\n<html><head><title>tapsrv</title></head><body>\n"
        "<h1>Hello from tapsrv</h1>\n<p>A user-space TCP/IP endpoint on a TAP device.</p>\n"
        "<p>This connection: " +
        text_of(id_) + "</p>\n</body></html>\n";
  } else {
    body = std::to_string(status) + " " + std::string{reason} + "\n";
  }
  std::string response = "HTTP/1.1 " + std::to_string(status) + " " + std::string{reason} +
                         "\r\nServer: tapsrv\r\nContent-Type: text/html; charset=utf-8\r\n"
                         "Content-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head) { response += body; }
  // A fresh connection's send buffer (256 KiB by default) holds this page whole.
  c.write(std::as_bytes(std::span<const char>{response}));
  c.close();
}

}  // namespace tapsrv::service
