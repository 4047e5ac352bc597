// The application side of a connection: what a service implements (RFC 9293 §3.10 user calls
// run the other way, from the handler into tcp::Connection).
#pragma once

#include <memory>

#include "tapsrv/tcp/four_tuple.hpp"

namespace tapsrv::tcp {

class Connection;

/// One per connection, created when it becomes ESTABLISHED. Callbacks run inside the engine;
/// they may read, write and close `c`, and must not keep references to it after on_closed().
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  virtual void on_established(Connection& /*c*/) {}
  /// New in-order bytes are readable, or the peer has closed (c.peer_closed()).
  virtual void on_readable(Connection& /*c*/) {}
  /// Send-buffer space was freed by an acknowledgment.
  virtual void on_writable(Connection& /*c*/) {}
  /// The connection is gone (closed, reset or timed out).
  virtual void on_closed(Connection& /*c*/) {}
};

/// Makes the handler for each new connection on one listening port.
class HandlerFactory {
 public:
  virtual ~HandlerFactory() = default;
  [[nodiscard]] virtual std::unique_ptr<ConnectionHandler> make(const FourTuple& id) = 0;
};

}  // namespace tapsrv::tcp
