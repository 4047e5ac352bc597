// The timing wheel against a plain reference: every timer fires at the first expire() at or
// after its deadline and never before, across cascades, long sleeps and far deadlines, and
// next_deadline() never lies late.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "tapsrv/tcp/timer_wheel.hpp"

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;
using std::chrono::microseconds;

struct Reference {
  std::map<const TimerNode*, Instant> armed;
  [[nodiscard]] std::optional<Instant> earliest() const {
    std::optional<Instant> best;
    for (const auto& [n, t] : armed) {
      if (!best || t < *best) { best = t; }
    }
    return best;
  }
};

TEST_SUITE("tcp.timer_wheel") {
  TEST_CASE("a timer fires at its deadline, not a microsecond before") {
    TimerWheel w;
    TimerNode n;
    std::vector<TimerNode*> due;
    const Instant t0 = Instant{} + 5s;
    w.expire(t0, due);
    w.schedule(n, t0 + 300ms + 7us);
    CHECK(w.next_deadline() <= t0 + 300ms + 7us);
    w.expire(t0 + 300ms + 6us, due);
    CHECK(due.empty());
    CHECK(w.next_deadline() == t0 + 300ms + 7us);  // in the same 256 ms block now: exact
    w.expire(t0 + 300ms + 7us, due);
    REQUIRE(due.size() == 1);
    CHECK(due[0] == &n);
    CHECK_FALSE(n.armed());
    CHECK(w.size() == 0);
    CHECK(w.next_deadline() == std::nullopt);
  }

  TEST_CASE("moving and cancelling are O(1) and take effect at once") {
    TimerWheel w;
    TimerNode a, b;
    std::vector<TimerNode*> due;
    w.expire(Instant{}, due);
    w.schedule(a, Instant{} + 10ms);
    w.schedule(b, Instant{} + 20ms);
    w.schedule(a, Instant{} + 2h);  // moved
    w.cancel(b);
    CHECK(w.size() == 1);
    w.expire(Instant{} + 1h, due);
    CHECK(due.empty());
    w.expire(Instant{} + 2h, due);
    CHECK(due.size() == 1);
  }

  TEST_CASE("randomized against a reference, 20000 operations per seed") {
    for (std::uint32_t seed = 1; seed <= 8; ++seed) {
      CAPTURE(seed);
      std::mt19937 rng{seed};
      TimerWheel w;
      Reference ref;
      std::vector<TimerNode> nodes(64);
      std::vector<TimerNode*> due;
      Instant now = Instant{} + microseconds{rng() % 1'000'000'000};
      w.expire(now, due);
      const auto span = [&]() -> microseconds {
        switch (rng() % 6) {
          case 0: return microseconds{rng() % 1000};                       // this millisecond
          case 1: return microseconds{rng() % 300'000};                    // level 0
          case 2: return microseconds{rng() % 70'000'000};                 // level 1
          case 3: return microseconds{rng() % 18'000'000'000ULL};          // level 2
          case 4: return microseconds{(rng() % 60'000) * 100'000'000ULL};  // past the wheel
          default: return -microseconds{rng() % 5000};                     // already due
        }
      };
      for (int op = 0; op < 20000; ++op) {
        TimerNode& n = nodes[rng() % nodes.size()];
        switch (rng() % 4) {
          case 0:
          case 1: {
            const Instant t = now + span();
            w.schedule(n, t);
            ref.armed[&n] = t;
            break;
          }
          case 2:
            w.cancel(n);
            ref.armed.erase(&n);
            break;
          default: {
            // Never later than the earliest deadline; exact when that is near.
            const auto hint = w.next_deadline();
            const auto truth = ref.earliest();
            REQUIRE(hint.has_value() == truth.has_value());
            if (truth) {
              REQUIRE(*hint <= *truth);
              const auto block = [](Instant t) {
                return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch())
                           .count() /
                       256;
              };
              if (*truth >= now && block(*truth) == block(now)) { REQUIRE(*hint == *truth); }
            }
            now += rng() % 3 == 0 && truth ? std::max(*truth - now, microseconds{0}) : span();
            if (now < Instant{} + 1s) { now = Instant{} + 1s; }
            due.clear();
            w.expire(std::max(now, Instant{}), due);
            for (TimerNode* d : due) {
              REQUIRE(ref.armed.count(d) == 1);
              REQUIRE(ref.armed[d] <= now);
              ref.armed.erase(d);
              REQUIRE_FALSE(d->armed());
            }
            for (const auto& [node, t] : ref.armed) { REQUIRE(t > now); }
            REQUIRE(w.size() == ref.armed.size());
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace tapsrv::tcp
