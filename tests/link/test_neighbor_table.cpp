// The ARP cache and its parking lot (RFC 826, RFC 1122 §2.3.2.2), on a fake clock.
#include <doctest/doctest.h>

#include <chrono>
#include <vector>

#include "support/frames.hpp"
#include "tapsrv/link/neighbor_table.hpp"

namespace tapsrv::link {
namespace {

using namespace std::chrono_literals;
using test::Buffer;
using test::ip;
using test::mac;

constexpr Instant kT0{};
const wire::MacAddr kMacA = mac(0x02, 0, 0, 0, 0, 0xa);
const wire::MacAddr kMacB = mac(0x02, 0, 0, 0, 0, 0xb);
const wire::Ipv4Addr kIpA = ip(10, 0, 0, 10);
const wire::Ipv4Addr kIpB = ip(10, 0, 0, 11);
const wire::Ipv4Addr kIpC = ip(10, 0, 0, 12);

// Records what on_timers() asks for.
struct TimerLog {
  std::vector<wire::Ipv4Addr> retries;
  std::vector<std::pair<wire::Ipv4Addr, std::size_t>> failures;
  void run(NeighborTable& t, Instant now) {
    t.on_timers(
        now, [this](wire::Ipv4Addr a) { retries.push_back(a); },
        [this](wire::Ipv4Addr a, std::size_t n) { failures.emplace_back(a, n); });
  }
};

TEST_SUITE("link.neighbor_table") {
  TEST_CASE("confirm() keeps a matching live entry fresh and touches nothing else") {
    NeighborTable t{{.reachable_time = 60s}};
    CHECK_FALSE(t.confirm(kIpA, kMacA, kT0));  // never creates an entry
    CHECK(t.size() == 0);
    t.learn(kIpA, kMacA, kT0);
    CHECK_FALSE(t.confirm(kIpA, kMacB, kT0 + 50s));  // another MAC proves nothing
    CHECK(t.confirm(kIpA, kMacA, kT0 + 50s));
    CHECK(t.lookup(kIpA, kT0 + 109s) == kMacA);  // now valid until 110 s
    CHECK_FALSE(t.lookup(kIpA, kT0 + 110s).has_value());
    t.learn(kIpA, kMacA, kT0 + 200s);
    CHECK_FALSE(t.confirm(kIpA, kMacA, kT0 + 260s));  // expired: must be resolved again
  }

  TEST_CASE("learn then lookup; unknown addresses miss") {
    NeighborTable t{{}};
    CHECK_FALSE(t.lookup(kIpA, kT0).has_value());
    CHECK(t.learn(kIpA, kMacA, kT0) == NeighborTable::Learned::New);
    CHECK(t.lookup(kIpA, kT0) == kMacA);
    CHECK(t.contains(kIpA, kT0 + 1s));
    CHECK_FALSE(t.contains(kIpB, kT0));
    CHECK(t.size() == 1);
  }

  TEST_CASE("relearning: same MAC refreshes, another MAC changes") {
    NeighborTable t{{}};
    t.learn(kIpA, kMacA, kT0);
    CHECK(t.learn(kIpA, kMacA, kT0 + 10s) == NeighborTable::Learned::Refreshed);
    CHECK(t.learn(kIpA, kMacB, kT0 + 20s) == NeighborTable::Learned::Changed);
    CHECK(t.lookup(kIpA, kT0 + 20s) == kMacB);
    CHECK(t.size() == 1);
  }

  TEST_CASE("entries expire reachable_time after the last learn, and are removed") {
    NeighborTable t{{.reachable_time = 60s}};
    t.learn(kIpA, kMacA, kT0);
    CHECK(t.lookup(kIpA, kT0 + 60s - 1us) == kMacA);
    CHECK_FALSE(t.lookup(kIpA, kT0 + 60s).has_value());  // expiry is exclusive
    CHECK(t.size() == 0);                                // the miss erased it

    t.learn(kIpA, kMacA, kT0);
    t.learn(kIpA, kMacA, kT0 + 50s);  // a refresh restarts the lifetime
    CHECK(t.contains(kIpA, kT0 + 100s));
    CHECK_FALSE(t.contains(kIpA, kT0 + 110s));
  }

  // Regression (fixed): NeighborTable::learn() reported an entry that had already expired (but
  // was not yet erased by a lookup) as Refreshed, even with a different MAC; it is a new
  // binding, so New. (LinkLayer calls contains() first, which erases the stale entry, so only
  // direct users of the table saw the wrong answer.)
  TEST_CASE("a binding learned after expiry is New, not Refreshed") {
    NeighborTable t{{.reachable_time = 60s}};
    t.learn(kIpA, kMacA, kT0);
    CHECK(t.learn(kIpA, kMacB, kT0 + 61s) == NeighborTable::Learned::New);
    CHECK(t.lookup(kIpA, kT0 + 61s) == kMacB);
  }

  TEST_CASE("relearning an expired entry restores it with the new MAC") {
    NeighborTable t{{.reachable_time = 60s}};
    t.learn(kIpA, kMacA, kT0);
    t.learn(kIpA, kMacB, kT0 + 61s);
    CHECK(t.lookup(kIpA, kT0 + 61s) == kMacB);
    CHECK(t.size() == 1);
  }

  TEST_CASE("when full, the entry closest to expiry is evicted") {
    NeighborTable t{{.reachable_time = 60s, .max_entries = 2}};
    t.learn(kIpA, kMacA, kT0);
    t.learn(kIpB, kMacB, kT0 + 1s);
    SUBCASE("oldest goes") {
      CHECK(t.learn(kIpC, kMacA, kT0 + 2s) == NeighborTable::Learned::New);
      CHECK(t.size() == 2);
      CHECK_FALSE(t.contains(kIpA, kT0 + 2s));
      CHECK(t.contains(kIpB, kT0 + 2s));
      CHECK(t.contains(kIpC, kT0 + 2s));
    }
    SUBCASE("a refresh protects an entry") {
      t.learn(kIpA, kMacA, kT0 + 2s);
      t.learn(kIpC, kMacA, kT0 + 3s);
      CHECK(t.size() == 2);
      CHECK(t.contains(kIpA, kT0 + 3s));
      CHECK_FALSE(t.contains(kIpB, kT0 + 3s));
      CHECK(t.contains(kIpC, kT0 + 3s));
    }
    SUBCASE("a confirmation protects an entry too") {
      CHECK(t.confirm(kIpA, kMacA, kT0 + 2s));
      t.learn(kIpC, kMacA, kT0 + 3s);
      CHECK(t.contains(kIpA, kT0 + 3s));
      CHECK_FALSE(t.contains(kIpB, kT0 + 3s));
    }
    SUBCASE("an entry removed on expiry leaves the order of the rest intact") {
      CHECK_FALSE(t.contains(kIpA, kT0 + 60s));  // expired and removed
      t.learn(kIpC, kMacA, kT0 + 60s);
      t.learn(ip(10, 0, 0, 77), kMacA, kT0 + 60s);  // full again: B is the oldest
      CHECK_FALSE(t.contains(kIpB, kT0 + 60s));
      CHECK(t.contains(kIpC, kT0 + 60s));
      CHECK(t.size() == 2);
    }
    SUBCASE("refreshing an existing entry never evicts") {
      t.learn(kIpB, kMacA, kT0 + 2s);
      CHECK(t.size() == 2);
      CHECK(t.contains(kIpA, kT0 + 2s));
    }
  }

  TEST_CASE("the table never grows past max_entries") {
    NeighborTable t{{.max_entries = 8}};
    for (std::uint8_t i = 1; i <= 100; ++i) {
      t.learn(ip(10, 0, 1, i), kMacA, kT0 + std::chrono::seconds{i});
      CHECK(t.size() <= 8);
    }
    CHECK(t.size() == 8);
    CHECK(t.contains(ip(10, 0, 1, 100), kT0 + 100s));  // the newest survive
    CHECK(t.contains(ip(10, 0, 1, 93), kT0 + 100s));
    CHECK_FALSE(t.contains(ip(10, 0, 1, 92), kT0 + 100s));
  }

  TEST_CASE("parking: first frame starts a resolution, then frames queue up to the bound") {
    NeighborTable t{{.max_frames_per_dest = 3}};
    CHECK(t.park(kIpA, test::pattern(10, 1), kT0) == NeighborTable::Parked::StartResolution);
    CHECK(t.pending_count() == 1);
    CHECK(t.park(kIpA, test::pattern(10, 2), kT0) == NeighborTable::Parked::Queued);
    CHECK(t.park(kIpA, test::pattern(10, 3), kT0) == NeighborTable::Parked::Queued);
    CHECK(t.park(kIpA, test::pattern(10, 4), kT0) == NeighborTable::Parked::QueueFull);
    CHECK(t.pending_count() == 1);

    // Another destination has its own queue.
    CHECK(t.park(kIpB, test::pattern(10, 5), kT0) == NeighborTable::Parked::StartResolution);
    CHECK(t.pending_count() == 2);

    const auto frames = t.take_parked(kIpA);
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].bytes == test::pattern(10, 1));  // copies, oldest first
    CHECK(frames[1].bytes == test::pattern(10, 2));
    CHECK(frames[2].bytes == test::pattern(10, 3));
    CHECK(t.pending_count() == 1);
    CHECK(t.take_parked(kIpA).empty());
  }

  TEST_CASE("a parked frame keeps what it asks of the device (checksum, segmentation)") {
    NeighborTable t{{}};
    const TxOffload o{
        .gso_size = 1460, .partial_checksum = true, .csum_start = 34, .csum_offset = 16};
    t.park(kIpA, test::pattern(20), kT0, o);
    t.park(kIpA, test::pattern(20), kT0);
    const auto frames = t.take_parked(kIpA);
    REQUIRE(frames.size() == 2);
    CHECK(frames[0].offload == o);
    CHECK(frames[1].offload == TxOffload{});
  }

  TEST_CASE("parking copies the frame: the caller's buffer may be reused") {
    NeighborTable t{{}};
    Buffer frame = test::pattern(20);
    t.park(kIpA, frame, kT0);
    frame.assign(20, std::byte{0});
    const auto frames = t.take_parked(kIpA);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0].bytes == test::pattern(20));
  }

  TEST_CASE("the number of destinations waiting is bounded") {
    NeighborTable t{{.max_pending_dests = 4}};
    for (std::uint8_t i = 1; i <= 4; ++i) {
      CHECK(t.park(ip(10, 0, 2, i), test::pattern(4), kT0) ==
            NeighborTable::Parked::StartResolution);
    }
    CHECK(t.park(ip(10, 0, 2, 5), test::pattern(4), kT0) == NeighborTable::Parked::QueueFull);
    CHECK(t.pending_count() == 4);
    // Destinations already waiting still accept frames.
    CHECK(t.park(ip(10, 0, 2, 1), test::pattern(4), kT0) == NeighborTable::Parked::Queued);
    // A resolution that ends frees a slot.
    CHECK(t.take_parked(ip(10, 0, 2, 2)).size() == 1);
    CHECK(t.park(ip(10, 0, 2, 5), test::pattern(4), kT0) == NeighborTable::Parked::StartResolution);
  }

  TEST_CASE("max_frames_per_dest 0 parks nothing and starts no resolution") {
    NeighborTable t{{.max_frames_per_dest = 0}};
    CHECK(t.park(kIpA, test::pattern(4), kT0) == NeighborTable::Parked::QueueFull);
    CHECK(t.pending_count() == 0);
    CHECK_FALSE(t.next_deadline().has_value());
  }

  TEST_CASE("retries every retry_interval up to max_requests, then fails with the count") {
    NeighborTable t{{.retry_interval = 1s, .max_requests = 3}};
    TimerLog log;
    CHECK_FALSE(t.next_deadline().has_value());
    t.park(kIpA, test::pattern(4), kT0);  // the caller sends request 1 now
    t.park(kIpA, test::pattern(4), kT0 + 100ms);
    CHECK(t.next_deadline() == kT0 + 1s);

    log.run(t, kT0 + 999ms);
    CHECK(log.retries.empty());

    log.run(t, kT0 + 1s);  // request 2
    CHECK(log.retries == std::vector{kIpA});
    CHECK(t.next_deadline() == kT0 + 2s);

    log.run(t, kT0 + 1500ms);
    CHECK(log.retries.size() == 1);

    log.run(t, kT0 + 2s);  // request 3, the last
    CHECK(log.retries.size() == 2);
    CHECK(log.failures.empty());
    CHECK(t.next_deadline() == kT0 + 3s);

    log.run(t, kT0 + 3s);  // unanswered: give up
    CHECK(log.retries.size() == 2);
    REQUIRE(log.failures.size() == 1);
    CHECK(log.failures[0].first == kIpA);
    CHECK(log.failures[0].second == 2);
    CHECK(t.pending_count() == 0);
    CHECK_FALSE(t.next_deadline().has_value());
    CHECK(t.take_parked(kIpA).empty());
  }

  TEST_CASE("a late timer run sends one retry and reschedules from now") {
    NeighborTable t{{.retry_interval = 1s, .max_requests = 3}};
    TimerLog log;
    t.park(kIpA, test::pattern(4), kT0);
    log.run(t, kT0 + 10s);
    CHECK(log.retries.size() == 1);
    CHECK(t.next_deadline() == kT0 + 11s);
  }

  TEST_CASE("max_requests 1: the first request is the only one") {
    NeighborTable t{{.retry_interval = 1s, .max_requests = 1}};
    TimerLog log;
    t.park(kIpA, test::pattern(4), kT0);
    log.run(t, kT0 + 1s);
    CHECK(log.retries.empty());
    REQUIRE(log.failures.size() == 1);
    CHECK(log.failures[0].second == 1);
  }

  TEST_CASE("timers of several destinations run independently; failing one keeps the rest") {
    NeighborTable t{{.retry_interval = 1s, .max_requests = 2}};
    TimerLog log;
    t.park(kIpA, test::pattern(4), kT0);
    t.park(kIpB, test::pattern(4), kT0 + 500ms);
    t.park(kIpC, test::pattern(4), kT0 + 500ms);
    CHECK(t.next_deadline() == kT0 + 1s);
    log.run(t, kT0 + 1s);
    CHECK(log.retries == std::vector{kIpA});
    log.run(t, kT0 + 1500ms);
    CHECK(log.retries == std::vector{kIpA, kIpB, kIpC});
    log.run(t, kT0 + 2s);  // A fails; erasing it must not skip B or C
    REQUIRE(log.failures.size() == 1);
    CHECK(log.failures[0].first == kIpA);
    log.run(t, kT0 + 2500ms);
    CHECK(log.failures.size() == 3);
    CHECK(t.pending_count() == 0);
  }

  TEST_CASE("take_parked cancels the timers of that destination") {
    NeighborTable t{{.retry_interval = 1s}};
    TimerLog log;
    t.park(kIpA, test::pattern(4), kT0);
    CHECK(t.take_parked(kIpA).size() == 1);
    CHECK_FALSE(t.next_deadline().has_value());
    log.run(t, kT0 + 5s);
    CHECK(log.retries.empty());
    CHECK(log.failures.empty());
  }
}

}  // namespace
}  // namespace tapsrv::link
