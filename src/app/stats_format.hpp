// `tapsrv stats` output: the counters and drops by reason, as text, JSON or the Prometheus
// text exposition format (for node_exporter's textfile collector).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tapsrv/core/stats.hpp"

namespace tapsrv::app {

struct NamedValue {
  std::string name;
  std::uint64_t value = 0;
};
struct StatsSnapshot {
  std::vector<NamedValue> counters;  // every counter, zeros included, in the exit report's order
  std::vector<NamedValue> drops;     // every drop reason, zeros included
  std::vector<NamedValue> tx_drops;  // our own frames that could not go, by reason
};

/// Every counter and drop reason of `stats` under the names of the exit report.
[[nodiscard]] StatsSnapshot snapshot_of(const Stats& stats);

/// "counters:" then "  name value" lines, "drops:" likewise.
[[nodiscard]] std::string stats_text(const StatsSnapshot& s);
/// {"counters": {"rx_frames": 12, ...}, "drops": {"eth_not_for_us": 3, ...}}
[[nodiscard]] std::string stats_json(const StatsSnapshot& s);
/// # HELP / # TYPE, then tapsrv_NAME_total per counter and tapsrv_drops_total{reason="..."}.
[[nodiscard]] std::string stats_prometheus(const StatsSnapshot& s);

}  // namespace tapsrv::app
