// NewReno (RFC 5681, RFC 3465 byte counting, Linux tcp_reno_*): exact window steps on an ACK
// clock, the sawtooth over a drop-tail bottleneck, and each event's rule. Also the names and
// the factory every algorithm shares.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support/cc_model.hpp"
#include "tapsrv/tcp/cc_reno.hpp"

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;
using test::AckClock;
using test::BottleneckModel;
using test::LinkConfig;

constexpr std::uint32_t kMss = 1448;
constexpr std::uint32_t kIw = 10 * kMss;

AckSample ack(Instant now, std::uint32_t acked, bool cwnd_limited = true,
              bool in_recovery = false) {
  AckSample s;
  s.now = now;
  s.acked = acked;
  s.cwnd_limited = cwnd_limited;
  s.in_recovery = in_recovery;
  s.rtt = 10ms;
  s.srtt = 10ms;
  s.min_rtt = 10ms;
  return s;
}

TEST_SUITE("tcp.cc") {
  TEST_CASE("names: reno, cubic, bbr round-trip; anything else is refused") {
    for (const CcKind k : {CcKind::Reno, CcKind::Cubic, CcKind::Bbr}) {
      CHECK(parse_cc_kind(name(k)) == k);
      const auto cc = make_congestion_control(k, kMss, kIw);
      REQUIRE(cc != nullptr);
      CHECK(cc->kind() == k);
      CHECK(cc->cwnd() == kIw);
    }
    CHECK(name(CcKind::Cubic) == "cubic");
    for (const char* bad : {"", "Reno", "newreno", "bbr2", "cubic\n"}) {
      CHECK_FALSE(parse_cc_kind(bad).has_value());
    }
    // Only BBR paces and keeps its own window in recovery.
    CHECK(make_congestion_control(CcKind::Bbr, kMss, kIw)->pacing_rate().has_value());
    CHECK_FALSE(make_congestion_control(CcKind::Bbr, kMss, kIw)->uses_prr());
    CHECK(make_congestion_control(CcKind::Cubic, kMss, kIw)->uses_prr());
    CHECK_FALSE(make_congestion_control(CcKind::Reno, kMss, kIw)->pacing_rate().has_value());
  }
}

TEST_SUITE("tcp.cc.reno") {
  TEST_CASE("slow start doubles cwnd each round trip; avoidance adds exactly one MSS per RTT") {
    RenoCc reno{kMss, kIw};
    AckClock clock{reno, 50ms, kMss};
    for (int round = 1; round <= 6; ++round) {
      clock.round();
      CHECK(reno.cwnd() == (kIw << round));  // RFC 5681 (2), counting bytes
    }
    const std::uint32_t before = reno.cwnd();
    reno.on_congestion(clock.now(), before);
    CHECK(reno.ssthresh() == before / 2);  // Linux tcp_reno_ssthresh
    CHECK(reno.cwnd() == before);          // PRR's business until recovery ends
    reno.on_recovery_end(clock.now());
    CHECK(reno.cwnd() == before / 2);
    std::vector<std::uint32_t> curve;
    for (int round = 0; round < 20; ++round) {
      clock.round();
      curve.push_back(reno.cwnd());
    }
    for (std::size_t i = 0; i < curve.size(); ++i) {
      CAPTURE(i);
      CHECK(curve[i] == before / 2 + (i + 1) * kMss);
    }
  }

  TEST_CASE("over a bottleneck: a sawtooth that halves at each loss and climbs 1 MSS per RTT") {
    RenoCc reno{kMss, kIw};
    const LinkConfig link{.rate = 1'250'000, .base_rtt = 40ms, .queue = 50'000};
    BottleneckModel net{link, reno};
    // Per congestion-avoidance stretch: segments gained, and round trips elapsed (the sum of
    // ACK gaps over the RTT each ACK measured, which grows with the queue).
    struct Stretch {
      double gained = 0, rounds = 0;
    };
    std::vector<Stretch> stretches;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> cuts;  // (cwnd before, ssthresh)
    std::uint32_t last_cwnd = reno.cwnd(), last_ssthresh = reno.ssthresh();
    Instant last_t{};
    bool in_ca = false;
    net.on_ack_hook = [&](const AckSample& s) {
      if (reno.ssthresh() != last_ssthresh) { cuts.emplace_back(last_cwnd, reno.ssthresh()); }
      const bool ca = !s.in_recovery && !reno.in_slow_start() && !reno.is_reducing();
      if (ca && !in_ca) { stretches.emplace_back(); }
      if (ca && in_ca) {
        stretches.back().gained += (double(reno.cwnd()) - double(last_cwnd)) / kMss;
        stretches.back().rounds +=
            std::chrono::duration<double>(s.now - last_t) / std::chrono::duration<double>(*s.rtt);
      }
      in_ca = ca;
      last_cwnd = reno.cwnd();
      last_ssthresh = reno.ssthresh();
      last_t = s.now;
    };
    net.run_for(60s);
    CHECK(net.rtos() == 0);  // PRR and RACK recover every loss
    CHECK(net.congestion_events() >= 4);
    REQUIRE(cuts.size() >= 4);
    for (const auto& cut : cuts) {
      const auto before = cut.first;  // not a structured binding: clang 14 cannot CAPTURE one
      const auto ssthresh = cut.second;
      CAPTURE(before);
      CHECK(ssthresh == std::max(before / 2, 2 * kMss));
    }
    int checked = 0;
    for (const auto& st : stretches) {
      if (st.rounds < 10) { continue; }  // the slow-start remainder and short stretches
      CAPTURE(st.rounds);
      CHECK(st.gained / st.rounds == doctest::Approx(1.0).epsilon(0.1));
      ++checked;
    }
    CHECK(checked >= 3);
    // With a BDP of buffer Reno keeps the link busy.
    CHECK(double(net.delivered()) >= 0.9 * 1'250'000 * 60);
  }

  TEST_CASE("slow start stops at ssthresh; the rest of the ACK counts toward avoidance") {
    RenoCc reno{kMss, kIw};
    reno.on_congestion(Instant{}, kIw);  // ssthresh = 5 segments
    reno.on_rto(Instant{}, kIw);         // during that recovery: cwnd = 1 segment, ssthresh held
    CHECK(reno.cwnd() == kMss);
    CHECK(reno.ssthresh() == 5 * kMss);
    reno.on_ack(ack(Instant{1ms}, 3 * kMss, true, true));  // after an RTO: grows in recovery
    CHECK(reno.cwnd() == 4 * kMss);
    // 4 + 3 would pass 5: one segment fills slow start, two go to the avoidance count.
    reno.on_ack(ack(Instant{2ms}, 3 * kMss, true, true));
    CHECK(reno.cwnd() == 5 * kMss);
    reno.on_ack(ack(Instant{3ms}, 3 * kMss));  // 2 + 3 = 5 segments counted: one increase
    CHECK(reno.cwnd() == 6 * kMss);
  }

  TEST_CASE("RTO: one segment and half the window; a repeated RTO keeps ssthresh") {
    RenoCc reno{kMss, 40 * kMss};
    reno.on_rto(Instant{}, 40 * kMss);
    CHECK(reno.cwnd() == kMss);
    CHECK(reno.ssthresh() == 20 * kMss);
    reno.on_ack(ack(Instant{1ms}, kMss, true, true));
    CHECK(reno.cwnd() == 2 * kMss);
    reno.on_rto(Instant{2ms}, 2 * kMss);  // RFC 5681 §3.1: the threshold is held
    CHECK(reno.cwnd() == kMss);
    CHECK(reno.ssthresh() == 20 * kMss);
    // Once the recovery is over a new timeout is a new episode.
    reno.on_ack(ack(Instant{3ms}, kMss));
    reno.on_rto(Instant{4ms}, 2 * kMss);
    CHECK(reno.ssthresh() == 2 * kMss);
  }

  TEST_CASE("the window never falls below two segments' threshold") {
    RenoCc reno{kMss, 2 * kMss};
    reno.on_congestion(Instant{}, 2 * kMss);
    CHECK(reno.ssthresh() == 2 * kMss);
  }

  TEST_CASE("undo restores the window and threshold from before the reduction") {
    RenoCc reno{kMss, kIw};
    AckClock clock{reno, 20ms, kMss};
    clock.round();
    clock.round();  // 40 segments, ssthresh still infinite
    SUBCASE("after fast recovery") {
      reno.on_congestion(clock.now(), reno.cwnd());
      reno.on_recovery_end(clock.now());
      CHECK(reno.cwnd() == 20 * kMss);
      reno.on_undo();
      CHECK(reno.cwnd() == 40 * kMss);
      CHECK(reno.ssthresh() == RenoCc::kInfiniteSsthresh);
      clock.round();
      CHECK(reno.cwnd() == 80 * kMss);  // back in slow start
    }
    SUBCASE("after an RTO") {
      reno.on_rto(clock.now(), reno.cwnd());
      CHECK(reno.cwnd() == kMss);
      reno.on_undo();
      CHECK(reno.cwnd() == 40 * kMss);
    }
    SUBCASE("twice: the second undo has nothing to restore") {
      reno.on_congestion(clock.now(), reno.cwnd());
      reno.on_undo();
      reno.on_congestion(clock.now(), reno.cwnd());
      reno.on_recovery_end(clock.now());
      reno.on_undo();
      reno.on_undo();
      CHECK(reno.cwnd() == 40 * kMss);
    }
  }

  TEST_CASE("no growth when the window is not used, nor during a reduction") {
    RenoCc reno{kMss, kIw};
    reno.on_ack(ack(Instant{1ms}, 5 * kMss, /*cwnd_limited=*/false));
    CHECK(reno.cwnd() == kIw);
    reno.on_congestion(Instant{2ms}, kIw);
    reno.on_ack(ack(Instant{3ms}, 5 * kMss, true, /*in_recovery=*/true));
    CHECK(reno.cwnd() == kIw);
    CHECK(reno.is_reducing());
    reno.on_recovery_end(Instant{4ms});
    CHECK(reno.cwnd() == 5 * kMss);
    // A second on_congestion() in the same episode would cut again; outside, it does.
    reno.on_congestion(Instant{5ms}, 5 * kMss);
    reno.on_congestion(Instant{5ms}, 5 * kMss);
    reno.on_recovery_end(Instant{6ms});
    CHECK(reno.cwnd() == 2 * kMss + kMss / 2);
  }

  TEST_CASE("an ECN-Echo reaction without recovery: the window falls at the next ACK") {
    RenoCc reno{kMss, 20 * kMss};
    reno.on_congestion(Instant{}, 20 * kMss);
    reno.on_ack(ack(Instant{1ms}, kMss));  // not in recovery: the reduction is over
    CHECK(reno.cwnd() == 10 * kMss);
    CHECK_FALSE(reno.is_reducing());
  }

  TEST_CASE("idle restart: back to the initial window, ssthresh keeps 3/4 of the old one") {
    RenoCc reno{kMss, kIw};
    AckClock clock{reno, 20ms, kMss};
    clock.round();
    clock.round();
    REQUIRE(reno.cwnd() == 40 * kMss);
    reno.on_idle_restart(clock.now());
    CHECK(reno.cwnd() == kIw);
    CHECK(reno.ssthresh() == RenoCc::kInfiniteSsthresh);
    reno.on_congestion(clock.now(), kIw);  // ssthresh 5 segments
    reno.on_recovery_end(clock.now());
    clock.round();
    reno.on_idle_restart(clock.now());
    CHECK(reno.ssthresh() == 5 * kMss);  // max(5, 3/4 of 6) segments
    CHECK(reno.cwnd() == 6 * kMss);      // below the initial window: unchanged
  }
}

}  // namespace
}  // namespace tapsrv::tcp
