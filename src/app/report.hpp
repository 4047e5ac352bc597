// The counters as log lines: what arrived, what was sent, every drop by reason, buffer memory.
#pragma once

#include "tapsrv/core/stats.hpp"
#include "tapsrv/tcp/engine.hpp"

namespace tapsrv::app {

/// Four info lines, "counters: name=value ..." and "drops: name=value ..." (non-zero only),
/// "buffer memory: used=... peak=... pressure_mark=... limit=... pressure_entries=...
/// refusals=..." and "time_wait: records=... peak=... limit=... expired=... recycled=...".
void log_report(const Stats& stats, const tcp::Engine& tcp);

}  // namespace tapsrv::app
