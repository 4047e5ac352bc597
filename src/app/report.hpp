// The counters as log lines: what arrived, what was sent, every drop by reason (input and output
// apart), buffer memory.
#pragma once

#include "tapsrv/core/stats.hpp"
#include "tapsrv/tcp/buffer_budget.hpp"

namespace tapsrv::app {

/// Four info lines, "counters: name=value ...", "drops: name=value ..." (frames that arrived
/// and were refused) and "tx_drops: name=value ..." (frames of ours that did not go), non-zero
/// only, and "buffer memory: used=... peak=... pressure_mark=... limit=... pressure_entries=...
/// refusals=...".
void log_report(const Stats& stats, const tcp::BufferBudget& memory);

}  // namespace tapsrv::app
