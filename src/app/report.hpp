// The counters as log lines: what arrived, what was sent, every drop by reason (input and output
// apart), buffer memory.
#pragma once

#include "tapsrv/core/stats.hpp"
#include "tapsrv/tcp/engine.hpp"

namespace tapsrv::app {

/// Five info lines, "counters: name=value ...", "drops: name=value ..." (frames that arrived
/// and were refused) and "tx_drops: name=value ..." (frames of ours that did not go), non-zero
/// only, "buffer memory: used=... peak=... pressure_mark=... limit=... pressure_entries=...
/// refusals=..." and "time_wait: records=... peak=... limit=... expired=... recycled=...".
void log_report(const Stats& stats, const tcp::Engine& tcp);

}  // namespace tapsrv::app
