#include "service/handlers.hpp"

namespace tapsrv::service {

void Echo::pump(tcp::Connection& c) {
  while (c.readable() > 0 && c.writable() > 0) {
    const auto chunk = c.peek(c.writable());
    c.consume(c.write(chunk));
  }
  // Half-close (RFC 9293 §3.6): the peer's FIN ends its stream, not ours; close once every
  // byte it sent has been queued back.
  if (c.peer_closed()) { c.close(); }
}

void Discard::on_readable(tcp::Connection& c) {
  c.consume(c.readable());
  if (c.peer_closed()) { c.close(); }
}

}  // namespace tapsrv::service
