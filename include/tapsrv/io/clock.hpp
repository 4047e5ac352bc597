// The one place that reads the clock: the event loop calls it and passes the time down.
#pragma once

#include <chrono>

#include "tapsrv/core/time.hpp"

namespace tapsrv::io {

inline Instant clock_now() noexcept {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

}  // namespace tapsrv::io
