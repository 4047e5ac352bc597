// Creating (or attaching to) the TAP and configuring its kernel side over netlink.
#pragma once

#include "app/config.hpp"
#include "tapsrv/io/tap_device.hpp"

namespace tapsrv::app {

/// Checks the environment before touching it (the interface must not exist unless --attach,
/// the bridge must exist and be a bridge), then opens the TAP and configures it. Fills in
/// cfg.mtu with the TAP's own MTU under --attach. Throws std::system_error with a one-line
/// message; a TAP created here disappears with the returned device, so failures leave nothing.
[[nodiscard]] io::TapDevice bring_up(Config& cfg);

}  // namespace tapsrv::app
