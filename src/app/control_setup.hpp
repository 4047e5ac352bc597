// Starting the control socket for `tapsrv up`: where, which group, and what it says about us.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string_view>

#include "app/config.hpp"
#include "app/control_server.hpp"
#include "tapsrv/io/control_socket.hpp"

namespace tapsrv::app {

struct OpenedControl {
  io::ControlListener listener;
  gid_t group = 0;
};

/// Opens the socket unless --no-control. An explicit --control that fails, a live socket in
/// the way or an unknown group throw std::system_error (one line; `up` exits 1); when neither
/// default directory is usable, a warning and no control socket.
[[nodiscard]] std::optional<OpenedControl> open_control_socket(const Config& cfg);

/// Version, interface and listeners ("10.0.0.2:3333" and service name) for the answers.
[[nodiscard]] ControlIdentity control_identity(const Config& cfg, std::string_view version);

}  // namespace tapsrv::app
