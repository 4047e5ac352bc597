#include "app/report.hpp"

#include <spdlog/spdlog.h>

#include <string>

namespace tapsrv::app {

void log_report(const Stats& stats, const tcp::Engine& tcp) {
  const tcp::BufferBudget& memory = tcp.buffer_memory();
  std::string counters;
  for (std::size_t i = 0; i < Stats::kCounterCount; ++i) {
    const auto c = static_cast<Counter>(i);
    if (stats.get(c) != 0) { counters += fmt::format(" {}={}", name(c), stats.get(c)); }
  }
  std::string drops;
  for (std::size_t i = 0; i < Stats::kDropCount; ++i) {
    const auto d = static_cast<Drop>(i);
    if (stats.get(d) != 0) { drops += fmt::format(" {}={}", name(d), stats.get(d)); }
  }
  spdlog::info("counters:{}", counters.empty() ? " none" : counters);
  spdlog::info("drops:{}", drops.empty() ? " none" : drops);
  spdlog::info(
      "buffer memory: used={} peak={} pressure_mark={} limit={} pressure_entries={} refusals={}",
      memory.used(), memory.peak(), memory.pressure_mark(), memory.limit(),
      memory.pressure_entries(), memory.refusals());
  // Records held when tapsrv stopped (the shutdown closes them), the most at once, the limit.
  spdlog::info("time_wait: records={} peak={} limit={} expired={} recycled={}",
               tcp.time_wait_count() + tcp.time_wait().held_at_clear(), tcp.time_wait().peak(),
               tcp.config().max_time_wait, stats.get(Counter::TcpTimeWaitExpired),
               stats.get(Counter::TcpTimeWaitRecycled));
}

}  // namespace tapsrv::app
