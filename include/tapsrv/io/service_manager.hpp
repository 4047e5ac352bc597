// Telling systemd how start-up and shutdown go (sd_notify(3), Type=notify units). Each call is
// a no-op when tapsrv was not started by a service manager (NOTIFY_SOCKET unset).
#pragma once

#include <string_view>

namespace tapsrv::io {

/// READY=1 with a one-line STATUS=: the TAP is up and every port listens.
void notify_ready(std::string_view status) noexcept;
/// STOPPING=1: shutdown has begun (connections are being reset).
void notify_stopping() noexcept;

}  // namespace tapsrv::io
