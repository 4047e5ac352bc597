// Stack events as log lines for a person.
#pragma once

#include "tapsrv/link/link_observer.hpp"

namespace tapsrv::app {

class LogObserver final : public link::LinkObserver {
 public:
  void on_neighbor_learned(wire::Ipv4Addr ip, wire::MacAddr mac, bool changed) override;
  void on_neighbor_unreachable(wire::Ipv4Addr ip, std::size_t dropped_frames) override;
  void on_address_conflict(wire::Ipv4Addr ip, wire::MacAddr mac) override;
};

}  // namespace tapsrv::app
