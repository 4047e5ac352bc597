// Where control sockets live: /run/tapsrv/IFNAME.sock, or under $XDG_RUNTIME_DIR/tapsrv when
// /run/tapsrv cannot be created or written (an unprivileged tapsrv up --attach).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tapsrv/core/expected.hpp"

namespace tapsrv::app {

inline constexpr const char* kRunDir = "/run/tapsrv";

/// Why no socket path could be found (one line).
struct PathError {
  std::string message;
};

/// The directories clients look in, in order: /run/tapsrv, then $XDG_RUNTIME_DIR/tapsrv when
/// that variable is set.
[[nodiscard]] std::vector<std::string> control_dirs();

/// The socket path `up` uses without --control, creating its directory (/run/tapsrv 0755, or
/// $XDG_RUNTIME_DIR/tapsrv 0700); the error says why neither would do.
[[nodiscard]] Expected<std::string, PathError> default_control_path(const std::string& ifname);

/// The socket a client talks to: `control` when given; else IFNAME.sock in the first of
/// control_dirs() that has it; else the only live socket there. The error is one line.
[[nodiscard]] Expected<std::string, PathError> find_control_socket(
    const std::optional<std::string>& ifname, const std::optional<std::string>& control);

}  // namespace tapsrv::app
