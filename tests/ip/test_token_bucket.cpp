// The token bucket behind the ICMP error rate limit: burst, refill, carry of partial tokens.
#include <doctest/doctest.h>

#include <chrono>

#include "tapsrv/core/token_bucket.hpp"

namespace tapsrv {
namespace {

using namespace std::chrono_literals;

constexpr Instant kT0{};

// Out of line: inlined into a loop, GCC 12 -O2 takes the bucket's std::optional<Instant> for
// uninitialized (a -Wmaybe-uninitialized false positive that -Werror turns into an error).
[[gnu::noinline]] int take_all(TokenBucket& b, Instant now) {
  int n = 0;
  while (b.try_take(now)) { ++n; }
  return n;
}

TEST_SUITE("ip.token_bucket") {
  TEST_CASE("starts full: exactly `burst` tokens at once") {
    TokenBucket b{1000, 50};
    CHECK(take_all(b, kT0) == 50);
    CHECK_FALSE(b.try_take(kT0));
  }

  TEST_CASE("refills at per_second, never beyond burst") {
    TokenBucket b{1000, 50};
    take_all(b, kT0);
    CHECK_FALSE(b.try_take(kT0 + 999us));
    CHECK(b.try_take(kT0 + 1ms));
    CHECK_FALSE(b.try_take(kT0 + 1ms));
    CHECK(take_all(b, kT0 + 11ms) == 10);
    CHECK(take_all(b, kT0 + 1h) == 50);
  }

  TEST_CASE("partial tokens carry over instead of being lost") {
    TokenBucket b{1000, 5};
    take_all(b, kT0);
    // 0.6 ms and then 0.6 ms more: the second call completes a token from both halves.
    CHECK_FALSE(b.try_take(kT0 + 600us));
    CHECK(b.try_take(kT0 + 1200us));
    // 1.2 ms elapsed in all, so 0.2 ms is banked: 0.8 ms more make the next one.
    CHECK_FALSE(b.try_take(kT0 + 1900us));
    CHECK(b.try_take(kT0 + 2000us));
  }

  TEST_CASE("the long-run rate holds for a rate that does not divide a second") {
    TokenBucket b{7, 10};
    int granted = 0;
    for (auto t = kT0; t <= kT0 + 100s; t += 10ms) { granted += take_all(b, t); }
    CHECK(granted >= 10 + 699);  // the initial burst plus 7 per second
    CHECK(granted <= 10 + 701);
  }

  TEST_CASE("a clock that goes backwards grants nothing extra") {
    TokenBucket b{1000, 2};
    take_all(b, kT0 + 1s);
    CHECK_FALSE(b.try_take(kT0));
    CHECK_FALSE(b.try_take(kT0 + 1s));
    CHECK(b.try_take(kT0 + 1001ms));
  }

  TEST_CASE("per_second 0: the burst only, never refilled") {
    TokenBucket b{0, 3};
    CHECK(take_all(b, kT0) == 3);
    CHECK(take_all(b, kT0 + 1h) == 0);
  }
}

}  // namespace
}  // namespace tapsrv
