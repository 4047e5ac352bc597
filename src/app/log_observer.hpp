// Stack events as log lines for a person: ARP at info, every TCP state change at info, and
// every segment at debug.
#pragma once

#include "tapsrv/link/link_observer.hpp"
#include "tapsrv/tcp/outbox.hpp"

namespace tapsrv::app {

class LogObserver final : public link::LinkObserver, public tcp::Observer {
 public:
  /// `segments`: log one line per TCP segment in and out (debug level).
  explicit LogObserver(bool segments) : segments_{segments} {}

  void on_neighbor_learned(wire::Ipv4Addr ip, wire::MacAddr mac, bool changed) override;
  void on_neighbor_unreachable(wire::Ipv4Addr ip, std::size_t dropped_frames) override;
  void on_address_conflict(wire::Ipv4Addr ip, wire::MacAddr mac) override;

  void on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to, tcp::Cause cause,
                     const wire::TcpSegment* seg) override;
  void on_segment(const tcp::FourTuple& id, bool outgoing, const wire::TcpSegment& seg) override;
  [[nodiscard]] bool wants_segments() const noexcept override { return segments_; }

 private:
  bool segments_;
};

}  // namespace tapsrv::app
