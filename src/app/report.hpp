// The counters as log lines: what arrived, what was sent, and every drop by reason.
#pragma once

#include "tapsrv/core/stats.hpp"

namespace tapsrv::app {

/// Two info lines, "counters: name=value ..." and "drops: name=value ..." (non-zero only).
void log_report(const Stats& stats);

}  // namespace tapsrv::app
