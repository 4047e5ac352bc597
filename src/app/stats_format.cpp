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

// "TITLE:" then one "  name value" line per value.
void append_text_section(std::string& out, std::string_view title,
                         const std::vector<NamedValue>& values) {
  fmt::format_to(std::back_inserter(out), "{}:\n", title);
  for (const auto& v : values) {
    fmt::format_to(std::back_inserter(out), "  {:<36} {}\n", v.name, v.value);
  }
}

// One counter family with a reason label: HELP and TYPE, then one sample per reason.
void append_reason_family(std::string& out, std::string_view metric, std::string_view help,
                          const std::vector<NamedValue>& reasons) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "# HELP {} {}\n# TYPE {} counter\n", metric, help, metric);
  for (const auto& r : reasons) {
    fmt::format_to(it, "{}{{reason=\"{}\"}} {}\n", metric, label_value(r.name), r.value);
  }
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
  std::string out;
  append_text_section(out, "counters", s.counters);
  append_text_section(out, "drops", s.drops);
  append_text_section(out, "tx_drops", s.tx_drops);
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
  append_reason_family(out, "tapsrv_drops_total", "Frames and segments tapsrv dropped, by reason.",
                       s.drops);
  append_reason_family(out, "tapsrv_tx_drops_total",
                       "Frames of tapsrv's own that could not be sent, by reason.", s.tx_drops);
  return out;
}

}  // namespace tapsrv::app
