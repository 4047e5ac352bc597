// The counters as log lines: what arrived, what was sent, every drop by reason, buffer memory.
#pragma once

#include "tapsrv/core/stats.hpp"
#include "tapsrv/tcp/buffer_budget.hpp"

namespace tapsrv::app {

/// Three info lines, "counters: name=value ..." and "drops: name=value ..." (non-zero only),
/// and "buffer memory: used=... peak=... pressure_mark=... limit=... pressure_entries=...
/// refusals=...".
void log_report(const Stats& stats, const tcp::BufferBudget& memory);

}  // namespace tapsrv::app
