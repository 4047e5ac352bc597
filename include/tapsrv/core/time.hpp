// Time as a value: the pure layers receive `now` and never read a clock themselves.
#pragma once

#include <chrono>

namespace tapsrv {

using Duration = std::chrono::microseconds;
/// A steady-clock instant at microsecond resolution; tests start from Instant{}.
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;

}  // namespace tapsrv
