// Events of the link layer that a person wants to see; the app turns them into log lines.
#pragma once

#include <cstddef>

#include "tapsrv/wire/addresses.hpp"

namespace tapsrv::link {

/// Called synchronously from the packet path: implementations must not call back into the stack.
class LinkObserver {
 public:
  virtual ~LinkObserver() = default;
  virtual void on_neighbor_learned(wire::Ipv4Addr /*ip*/, wire::MacAddr /*mac*/, bool /*changed*/) {
  }
  virtual void on_neighbor_unreachable(wire::Ipv4Addr /*ip*/, std::size_t /*dropped_frames*/) {}
  /// Another host claims our address.
  virtual void on_address_conflict(wire::Ipv4Addr /*ip*/, wire::MacAddr /*mac*/) {}

  /// An observer that ignores everything.
  static LinkObserver& none() noexcept {
    static LinkObserver silent;
    return silent;
  }
};

}  // namespace tapsrv::link
