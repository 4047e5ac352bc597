#include "app/stats_format.hpp"

#include <spdlog/fmt/fmt.h>

#include "app/json_text.hpp"

namespace tapsrv::app {
namespace {

void append_json_object(std::string& out, const std::vector<NamedValue>& values) {
  out += '{';
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i != 0) { out += ", "; }
    append_json_string(out, values[i].name);
    fmt::format_to(std::back_inserter(out), ": {}", values[i].value);
  }
  out += '}';
}

// A label value in the exposition format escapes '\', '"' and newline.
std::string label_value(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\\' || c == '"') { out += '\\'; }
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

StatsSnapshot snapshot_of(const Stats& stats) {
  StatsSnapshot s;
  for (std::size_t i = 0; i < Stats::kCounterCount; ++i) {
    const auto c = static_cast<Counter>(i);
    s.counters.push_back({std::string{name(c)}, stats.get(c)});
  }
  for (std::size_t i = 0; i < Stats::kDropCount; ++i) {
    const auto d = static_cast<Drop>(i);
    s.drops.push_back({std::string{name(d)}, stats.get(d)});
  }
  for (std::size_t i = 0; i < Stats::kTxDropCount; ++i) {
    const auto d = static_cast<TxDrop>(i);
    s.tx_drops.push_back({std::string{name(d)}, stats.get(d)});
  }
  return s;
}

std::string stats_text(const StatsSnapshot& s) {
  std::string out = "counters:\n";
  for (const auto& c : s.counters) {
    fmt::format_to(std::back_inserter(out), "  {:<36} {}\n", c.name, c.value);
  }
  out += "drops:\n";
  for (const auto& d : s.drops) {
    fmt::format_to(std::back_inserter(out), "  {:<36} {}\n", d.name, d.value);
  }
  out += "tx_drops:\n";
  for (const auto& d : s.tx_drops) {
    fmt::format_to(std::back_inserter(out), "  {:<36} {}\n", d.name, d.value);
  }
  return out;
}

std::string stats_json(const StatsSnapshot& s) {
  std::string out = "{\"counters\": ";
  append_json_object(out, s.counters);
  out += ", \"drops\": ";
  append_json_object(out, s.drops);
  out += ", \"tx_drops\": ";
  append_json_object(out, s.tx_drops);
  out += "}\n";
  return out;
}

std::string stats_prometheus(const StatsSnapshot& s) {
  std::string out;
  auto it = std::back_inserter(out);
  for (const auto& c : s.counters) {
    // Counter names are snake_case ASCII, so they are valid metric names as they stand.
    fmt::format_to(it, "# HELP tapsrv_{0}_total tapsrv counter {0} (see tapsrv(8)).\n", c.name);
    fmt::format_to(it, "# TYPE tapsrv_{}_total counter\n", c.name);
    fmt::format_to(it, "tapsrv_{}_total {}\n", c.name, c.value);
  }
  out += "# HELP tapsrv_drops_total Frames and segments tapsrv dropped, by reason.\n";
  out += "# TYPE tapsrv_drops_total counter\n";
  for (const auto& d : s.drops) {
    fmt::format_to(it, "tapsrv_drops_total{{reason=\"{}\"}} {}\n", label_value(d.name), d.value);
  }
  out += "# HELP tapsrv_tx_drops_total Frames of tapsrv's own that could not be sent, by reason.\n";
  out += "# TYPE tapsrv_tx_drops_total counter\n";
  for (const auto& d : s.tx_drops) {
    fmt::format_to(it, "tapsrv_tx_drops_total{{reason=\"{}\"}} {}\n", label_value(d.name), d.value);
  }
  return out;
}

}  // namespace tapsrv::app
