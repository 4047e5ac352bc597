// Stats: stable, distinct snake_case names (scripts grep them) and plain counting.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "tapsrv/core/stats.hpp"

namespace tapsrv {
namespace {

bool is_snake_case(std::string_view s) {
  if (s.empty() || s.front() == '_' || s.back() == '_') { return false; }
  for (const char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) { return false; }
  }
  return true;
}

TEST_SUITE("stack.stats") {
  TEST_CASE("every drop reason and counter has its own snake_case name") {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < Stats::kDropCount; ++i) {
      const auto n = name(static_cast<Drop>(i));
      CAPTURE(i);
      CHECK(n != "unknown");
      CHECK(is_snake_case(n));
      CHECK(seen.insert(std::string{n}).second);
    }
    for (std::size_t i = 0; i < Stats::kCounterCount; ++i) {
      const auto n = name(static_cast<Counter>(i));
      CAPTURE(i);
      CHECK(n != "unknown");
      CHECK(is_snake_case(n));
      CHECK(seen.insert(std::string{n}).second);
    }
    CHECK(name(Drop::Ipv4BadChecksum) == "ipv4_bad_checksum");
    CHECK(name(Counter::RxFrames) == "rx_frames");
    CHECK(name(Drop::kCount) == "unknown");
  }

  TEST_CASE("count, add and total_drops") {
    Stats s;
    CHECK(s.total_drops() == 0);
    s.count(Drop::EthTruncated);
    s.count(Drop::EthTruncated);
    s.count(Drop::InternalBug);
    s.add(Counter::RxBytes, 1514);
    s.add(Counter::RxFrames);
    CHECK(s.get(Drop::EthTruncated) == 2);
    CHECK(s.get(Drop::InternalBug) == 1);
    CHECK(s.get(Drop::EthNotForUs) == 0);
    CHECK(s.total_drops() == 3);
    CHECK(s.get(Counter::RxBytes) == 1514);
    CHECK(s.get(Counter::RxFrames) == 1);
  }
}

}  // namespace
}  // namespace tapsrv
