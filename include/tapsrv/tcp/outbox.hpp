// Where the TCP engine's segments and events go: the stack in production, a recorder in tests.
#pragma once

#include "tapsrv/tcp/four_tuple.hpp"
#include "tapsrv/tcp/state.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {

/// Receives every segment the engine emits. The segment's payload span is valid only during
/// the call: copy it out (the stack encodes it straight into a frame).
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void send(const FourTuple& id, const wire::TcpSegment& seg) = 0;
};

/// What moved a connection from one state to the next, for the log line.
enum class Cause : std::uint8_t {
  Segment,
  Listen,
  Connect,
  AppClose,
  Timeout,
  Retransmit,
  Shutdown,
  SynCookie,  // the ACK of a stateless SYN-ACK rebuilt the half-open connection
  Recycled,   // a TIME_WAIT record made room for a newer one (Config::max_time_wait)
};

/// Engine events for people; called synchronously, so implementations must be quick and must
/// not call back into the engine.
class Observer {
 public:
  virtual ~Observer() = default;
  /// `seg` is the segment that caused the change, or null when `cause` is not Segment.
  virtual void on_transition(const FourTuple& /*id*/, State /*from*/, State /*to*/, Cause /*cause*/,
                             const wire::TcpSegment* /*seg*/) {}
  virtual void on_segment(const FourTuple& /*id*/, bool /*outgoing*/,
                          const wire::TcpSegment& /*seg*/) {}
  /// Whether on_segment is wanted at all, so the engine can skip the calls cheaply.
  [[nodiscard]] virtual bool wants_segments() const noexcept { return false; }

  static Observer& none() noexcept {
    static Observer silent;
    return silent;
  }
};

}  // namespace tapsrv::tcp
