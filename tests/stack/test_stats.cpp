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
    // Drops, tx drops and counters share one namespace in the report and in scripts.
    auto check_all = [&seen]<class E>(E, std::size_t count) {
      for (std::size_t i = 0; i < count; ++i) {
        const auto n = name(static_cast<E>(i));
        CAPTURE(i);
        CHECK(n != "unknown");
        CHECK(is_snake_case(n));
        CHECK(seen.insert(std::string{n}).second);
      }
    };
    check_all(Drop{}, Stats::kDropCount);
    check_all(TxDrop{}, Stats::kTxDropCount);
    check_all(Counter{}, Stats::kCounterCount);
    CHECK(name(Drop::Ipv4BadChecksum) == "ipv4_bad_checksum");
    CHECK(name(TxDrop::ArpUnresolved) == "arp_unresolved");
    CHECK(name(Counter::RxFrames) == "rx_frames");
    CHECK(name(Drop::kCount) == "unknown");
  }

  TEST_CASE("count, add and total_drops") {
    Stats s;
    CHECK(s.total_drops() == 0);
    s.count(Drop::EthTruncated);
    s.count(Drop::EthTruncated);
    s.add(Counter::InternalBug);
    s.add(Counter::RxBytes, 1514);
    s.add(Counter::RxFrames);
    CHECK(s.get(Drop::EthTruncated) == 2);
    CHECK(s.get(Counter::InternalBug) == 1);
    CHECK(s.get(Drop::EthNotForUs) == 0);
    CHECK(s.total_drops() == 2);
    CHECK(s.get(Counter::RxBytes) == 1514);
    CHECK(s.get(Counter::RxFrames) == 1);
  }

  TEST_CASE("output drops are apart from input drops; frames add up") {
    Stats s;
    s.count(TxDrop::Ipv4NoRoute);
    s.count(TxDrop::TxError);
    CHECK(s.total_drops() == 0);
    CHECK(s.total_tx_drops() == 2);
    CHECK(s.frames_add_up());
    s.add(Counter::RxFrames, 3);
    CHECK_FALSE(s.frames_add_up());
    s.count(Drop::EthNotForUs);
    s.add(Counter::RxDelivered, 2);
    CHECK(s.frames_add_up());
  }
}

}  // namespace
}  // namespace tapsrv
