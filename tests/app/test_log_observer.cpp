// The log lines a remote peer can drive: built only when their level is on, and rate-limited
// per kind, with what was held back counted and then summarised.
#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <string>

#include "app/log_observer.hpp"
#include "support/frames.hpp"

namespace tapsrv::app {
namespace {

using namespace std::chrono_literals;

Instant g_now{};
Instant fake_now() { return g_now; }

/// Sends the default logger to a string for one test, at `level`.
struct CapturedLog {
  explicit CapturedLog(spdlog::level::level_enum level) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_pattern("%v");
    logger->set_level(level);
    saved = spdlog::default_logger();
    spdlog::set_default_logger(logger);
    g_now = Instant{} + 1s;
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  ~CapturedLog() { spdlog::set_default_logger(saved); }
  [[nodiscard]] std::size_t lines(const std::string& containing) const {
    std::istringstream in{out.str()};
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      if (line.find(containing) != std::string::npos) { ++n; }
    }
    return n;
  }
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> saved;
};

tcp::FourTuple tuple_of(std::uint16_t port) { return {test::kPeerIp, port, test::kOurIp, 3333}; }

TEST_SUITE("app.log_observer") {
  TEST_CASE("a flood of state changes is cut to the burst, counted, then summarised") {
    // Regression: every state change of every connection was logged, so a SYN flood wrote
    // as many lines as it sent SYNs.
    const CapturedLog log{spdlog::level::info};
    Stats stats;
    LogObserver obs{false, stats, fake_now};
    for (std::uint16_t i = 0; i < 5000; ++i) {
      obs.on_transition(tuple_of(static_cast<std::uint16_t>(1000 + i)), tcp::State::Listen,
                        tcp::State::SynReceived, tcp::Cause::Listen, nullptr);
    }
    CHECK(log.lines("LISTEN -> SYN_RECEIVED") == 2000);
    CHECK(stats.get(Counter::LogLinesSuppressed) == 3000);
    g_now += 1s;  // 500 more
    obs.on_transition(tuple_of(1), tcp::State::Listen, tcp::State::SynReceived, tcp::Cause::Listen,
                      nullptr);
    CHECK(log.lines("log: 3000 state change line(s) suppressed") == 1);
    CHECK(log.lines("LISTEN -> SYN_RECEIVED") == 2001);
  }

  TEST_CASE("each kind has its own budget: a flood of one leaves the others alone") {
    const CapturedLog log{spdlog::level::info};
    Stats stats;
    LogObserver obs{false, stats, fake_now};
    for (int i = 0; i < 1000; ++i) { obs.on_address_conflict(test::kOurIp, test::kPeerMac); }
    CHECK(log.lines("also claims our address") == 5);
    for (int i = 0; i < 1000; ++i) {
      obs.on_neighbor_learned(test::ip(10, 0, 0, 9), test::kPeerMac, false);
    }
    CHECK(log.lines("arp: 10.0.0.9 is at") == 100);
    for (int i = 0; i < 1000; ++i) { obs.on_neighbor_unreachable(test::ip(10, 0, 0, 9), 1); }
    CHECK(log.lines("arp: no answer from") == 20);
    obs.on_transition(tuple_of(1), tcp::State::Listen, tcp::State::SynReceived, tcp::Cause::Listen,
                      nullptr);
    CHECK(log.lines("LISTEN -> SYN_RECEIVED") == 1);
    CHECK(stats.get(Counter::LogLinesSuppressed) == 995 + 900 + 980);
  }

  TEST_CASE("a level that is off writes nothing and suppresses nothing") {
    const CapturedLog log{spdlog::level::err};
    Stats stats;
    LogObserver obs{false, stats, fake_now};
    for (std::uint16_t i = 0; i < 3000; ++i) {
      obs.on_transition(tuple_of(i), tcp::State::Listen, tcp::State::SynReceived,
                        tcp::Cause::Listen, nullptr);
      obs.on_neighbor_learned(test::kPeerIp, test::kPeerMac, false);
    }
    CHECK(log.out.str().empty());
    CHECK(stats.get(Counter::LogLinesSuppressed) == 0);
    // Conflicts are errors: still on, still limited.
    obs.on_address_conflict(test::kOurIp, test::kPeerMac);
    CHECK(log.lines("also claims our address") == 1);
  }
}

}  // namespace
}  // namespace tapsrv::app
