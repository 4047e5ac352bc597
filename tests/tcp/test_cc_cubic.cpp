// CUBIC (RFC 9438) against its own formulas on an ACK clock: the cubic curve and K after a
// loss, its concave and convex halves, the Reno-friendly region, fast convergence, the 1.5x
// clamp, undo, timeouts and idle time; HyStart++ (RFC 9406) on a bottleneck and on crafted
// RTT rounds.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "support/cc_model.hpp"
#include "tapsrv/tcp/cc_cubic.hpp"

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;
using test::AckClock;
using test::BottleneckModel;
using test::LinkConfig;

constexpr std::uint32_t kMss = 1448;
constexpr double kC = 0.4, kBeta = 0.7;

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }
double segs(std::uint32_t bytes) { return double(bytes) / kMss; }

// RFC 9438 eq. 1 and 2, written out here independently of the implementation.
double rfc_k(double w_max, double cwnd_start) { return std::cbrt((w_max - cwnd_start) / kC); }
double rfc_w(double t, double k, double w_max) { return kC * std::pow(t - k, 3) + w_max; }

// A CUBIC at `w` segments that has just had a loss and finished recovery at `start`.
struct AfterLoss {
  CubicCc cubic;
  AckClock clock;
  AfterLoss(double w, Duration rtt, CubicParams p = {.hystart = false})
      : cubic{kMss, static_cast<std::uint32_t>(w * kMss), p}, clock{cubic, rtt, kMss} {
    cubic.on_congestion(clock.now(), cubic.cwnd());
    cubic.on_recovery_end(clock.now());
  }
};

TEST_SUITE("tcp.cc.cubic") {
  TEST_CASE("after a loss cwnd follows W(t) = C(t-K)^3 + W_max; K is eq. 2; concave, convex") {
    AfterLoss a{1000, 100ms};
    CHECK(a.cubic.ssthresh() == static_cast<std::uint32_t>(1000 * kMss * kBeta));
    CHECK(a.cubic.cwnd() == a.cubic.ssthresh());
    CHECK(a.cubic.w_max() == doctest::Approx(1000));
    const double k = rfc_k(1000, segs(a.cubic.cwnd()));  // cbrt(750) = 9.09 s
    struct Point {
      double t, w;
    };
    std::vector<Point> curve;  // one point per round trip
    std::optional<Instant> epoch;
    double worst = 0;
    a.clock.on_ack_hook = [&](const AckSample& s) {
      if (!epoch) { epoch = a.cubic.epoch_start(); }
      const double t = secs(s.now - *epoch);
      worst = std::max(worst, std::abs(segs(a.cubic.cwnd()) - rfc_w(t, k, 1000)));
    };
    while (curve.empty() || curve.back().t < k + 3) {
      a.clock.round();
      curve.push_back({secs(a.clock.now() - *epoch), segs(a.cubic.cwnd())});
    }
    CHECK(a.cubic.k() == doctest::Approx(k).epsilon(1e-9));
    // The window tracks the curve within a segment or two all along (it aims one RTT
    // ahead, which cancels its one-RTT lag).
    CHECK(worst < 2.0);
    // Concave below W_max (increments shrink toward K), convex above it (they grow).
    for (std::size_t i = 2; i < curve.size(); ++i) {
      const double inc = curve[i].w - curve[i - 1].w, prev = curve[i - 1].w - curve[i - 2].w;
      CAPTURE(curve[i].t);
      if (curve[i].t < k - 0.2) {
        CHECK(curve[i].w < 1000);
        CHECK(inc <= prev + 0.05);
      } else if (curve[i - 2].t > k + 0.2) {
        CHECK(curve[i].w > 1000);
        CHECK(inc >= prev - 0.05);
      }
    }
    // It crosses W_max at t = K, within a round trip.
    const auto cross =
        std::find_if(curve.begin(), curve.end(), [](const Point& p) { return p.w >= 1000; });
    REQUIRE(cross != curve.end());
    CHECK(std::abs(cross->t - k) < 0.1 + 1e-9);
  }

  TEST_CASE("the Reno-friendly region wins when the RTT is tiny and the BDP small") {
    AfterLoss a{20, 2ms};
    const double alpha = 3 * (1 - kBeta) / (1 + kBeta);  // 0.53 segments per RTT
    const double start = segs(a.cubic.cwnd());           // 14
    const Instant t0 = a.clock.now();
    for (int round = 1; round <= 40; ++round) {
      a.clock.round();
      // AIMD(alpha) until W_est passes the window before the loss (20), then AIMD(1).
      const double to_prior = (20 - start) / alpha;
      const double expect = round <= to_prior ? start + alpha * round : 20 + (round - to_prior);
      CAPTURE(round);
      CHECK(segs(a.cubic.cwnd()) == doctest::Approx(expect).epsilon(0.04));
      CHECK(a.cubic.w_est() == doctest::Approx(segs(a.cubic.cwnd())).epsilon(0.02));
    }
    // Meanwhile the cubic curve itself has hardly moved from 14 segments.
    const double t = secs(a.clock.now() - t0);
    CHECK(rfc_w(t, a.cubic.k(), 20) < 15);
    CHECK(segs(a.cubic.cwnd()) > 45);
  }

  TEST_CASE("fast convergence: a loss below W_max lowers W_max to cwnd (1 + beta) / 2") {
    for (const bool fast : {true, false}) {
      CAPTURE(fast);
      AfterLoss a{1000, 100ms, {.fast_convergence = fast, .hystart = false}};
      a.clock.run_for(3s);
      const double w2 = segs(a.cubic.cwnd());
      REQUIRE(w2 < 1000);
      a.cubic.on_congestion(a.clock.now(), a.cubic.cwnd());
      a.cubic.on_recovery_end(a.clock.now());
      const double w_max = fast ? w2 * (1 + kBeta) / 2 : w2;
      CHECK(a.cubic.w_max() == doctest::Approx(w_max));
      a.clock.round();  // starts the epoch
      CHECK(a.cubic.k() == doctest::Approx(rfc_k(w_max, w2 * kBeta)).epsilon(0.01));
      // The plateau is the lowered W_max: cwnd is there at t = K.
      const Instant epoch = *a.cubic.epoch_start();
      while (a.clock.now() < epoch + std::chrono::duration_cast<Duration>(
                                         std::chrono::duration<double>(a.cubic.k()))) {
        a.clock.round();
      }
      CHECK(segs(a.cubic.cwnd()) == doctest::Approx(w_max).epsilon(0.005));
    }
  }

  TEST_CASE("the target is clamped to 1.5 cwnd per round trip (RFC 9438 §4.2)") {
    // A long RTT and a small W_max: the convex curve then more than doubles within one RTT.
    AfterLoss a{40, 2s};
    double max_ratio = 0;
    std::uint32_t before = a.cubic.cwnd();
    for (int round = 0; round < 20; ++round) {
      a.clock.round();
      max_ratio = std::max(max_ratio, double(a.cubic.cwnd()) / before);
      before = a.cubic.cwnd();
    }
    CHECK(max_ratio <= 1.5 + 1e-3);
    CHECK(max_ratio > 1.45);  // and the clamp was what bound it
  }

  TEST_CASE("undo after a spurious loss restores cwnd, ssthresh, W_max, K and the epoch") {
    AfterLoss a{100, 100ms};
    a.clock.run_for(2s);
    const std::uint32_t cwnd = a.cubic.cwnd(), ssthresh = a.cubic.ssthresh();
    const double w_max = a.cubic.w_max(), k = a.cubic.k();
    const auto epoch = a.cubic.epoch_start();
    a.cubic.on_congestion(a.clock.now(), cwnd);
    a.cubic.on_recovery_end(a.clock.now());
    REQUIRE(a.cubic.w_max() < w_max);  // fast convergence changed it
    REQUIRE(a.cubic.cwnd() < cwnd);
    a.cubic.on_undo();
    CHECK(a.cubic.cwnd() == cwnd);
    // Linux keeps tcp_current_ssthresh() for undo: at least 3/4 of the window then.
    CHECK(a.cubic.ssthresh() == std::max(ssthresh, (cwnd >> 1) + (cwnd >> 2)));
    CHECK(a.cubic.w_max() == w_max);
    CHECK(a.cubic.k() == k);
    CHECK(a.cubic.epoch_start() == epoch);
  }

  TEST_CASE("RTO: one segment, ssthresh = beta cwnd; the next epoch has K = 0 (§4.8)") {
    AfterLoss a{100, 100ms};
    a.clock.run_for(1s);
    const std::uint32_t cwnd = a.cubic.cwnd();
    a.cubic.on_rto(a.clock.now(), cwnd);
    CHECK(a.cubic.cwnd() == kMss);
    CHECK(a.cubic.ssthresh() == static_cast<std::uint32_t>(cwnd * kBeta));
    CHECK(a.cubic.w_max() == 0);
    // Slow start back up (the RTO's recovery, then open), then a convex curve from there.
    while (a.cubic.in_slow_start()) { a.clock.round(); }
    a.clock.round();
    CHECK(a.cubic.k() == 0);
    std::vector<double> w;
    for (int i = 0; i < 20; ++i) {
      a.clock.round();
      w.push_back(segs(a.cubic.cwnd()));
    }
    for (std::size_t i = 2; i < w.size(); ++i) {
      CHECK(w[i] - w[i - 1] >= w[i - 1] - w[i - 2] - 0.05);
    }
  }

  TEST_CASE("ssthresh never falls below two segments") {
    CubicCc cubic{kMss, 2 * kMss};
    cubic.on_congestion(Instant{}, 2 * kMss);
    CHECK(cubic.ssthresh() == 2 * kMss);
  }

  TEST_CASE("time without a full window is left out of t") {
    AfterLoss a{100, 100ms};
    a.clock.run_for(1s);
    const auto epoch = *a.cubic.epoch_start();
    const std::uint32_t cwnd = a.cubic.cwnd();
    const Instant from = a.clock.now();
    a.clock.run_for(3s, /*cwnd_limited=*/false);
    CHECK(a.cubic.cwnd() == cwnd);  // no growth either
    const auto shift = *a.cubic.epoch_start() - epoch;
    CHECK(secs(shift) == doctest::Approx(secs(a.clock.now() - from)).epsilon(0.05));
  }

  TEST_CASE("an idle restart: the restart window, and the epoch shifted by the idle time") {
    CubicCc cubic{kMss, 10 * kMss, {.hystart = false}};
    AckClock clock{cubic, 100ms, kMss};
    for (int i = 0; i < 4; ++i) { clock.round(); }
    cubic.on_congestion(clock.now(), cubic.cwnd());
    cubic.on_recovery_end(clock.now());
    clock.run_for(1s);
    const auto epoch = *cubic.epoch_start();
    const std::uint32_t cwnd = cubic.cwnd(), ssthresh = cubic.ssthresh();
    clock.idle(5s);
    cubic.on_idle_restart(clock.now());
    CHECK(*cubic.epoch_start() - epoch == 5s);  // Linux bictcp_cwnd_event(CA_EVENT_TX_START)
    CHECK(cubic.cwnd() == 10 * kMss);           // RFC 5681 §4.1: min(IW, cwnd)
    CHECK(cubic.ssthresh() == std::max(ssthresh, (cwnd >> 1) + (cwnd >> 2)));
    clock.round();  // slow start again; the idle time is not counted a second time
    CHECK(*cubic.epoch_start() - epoch == 5s);
    CHECK(cubic.cwnd() == 20 * kMss);
  }

  TEST_CASE("HyStart++ leaves slow start as the RTT rises, before the queue overflows") {
    // 10 Mbit/s, 40 ms, a buffer of eight BDPs: plain slow start overshoots even that.
    const LinkConfig link{.rate = 1'250'000, .base_rtt = 40ms, .queue = 400'000};
    for (const bool hystart : {true, false}) {
      CAPTURE(hystart);
      CubicCc cubic{kMss, 10 * kMss, {.hystart = hystart}};
      BottleneckModel net{link, cubic};
      std::vector<HystartPhase> phases{cubic.hystart_phase()};
      std::optional<std::uint32_t> css_cwnd, css_queue, ca_cwnd, ca_ssthresh;
      net.on_ack_hook = [&](const AckSample&) {
        if (cubic.hystart_phase() == phases.back()) { return; }
        phases.push_back(cubic.hystart_phase());
        if (phases.back() == HystartPhase::Css) {
          css_cwnd = cubic.cwnd();
          css_queue = net.queue_bytes();
          CHECK(net.drops() == 0);
        } else if (phases.back() == HystartPhase::Done) {
          ca_cwnd = cubic.cwnd();
          ca_ssthresh = cubic.ssthresh();
        }
      };
      net.run_for(2s);
      if (!hystart) {
        CHECK(net.drops() > 0);
        CHECK(net.congestion_events() >= 1);
        continue;
      }
      CHECK(phases == std::vector{HystartPhase::SlowStart, HystartPhase::Css, HystartPhase::Done});
      CHECK(net.drops() == 0);
      // Slow start ended once a round's minimum RTT was MIN_RTT_THRESH (5 ms) above the one
      // before: with some queue, but far from a full buffer.
      REQUIRE(css_cwnd);
      CHECK(*css_cwnd >= net.bdp());
      CHECK(*css_queue >= 5 * link.rate / 1000);
      CHECK(*css_queue <= 2 * net.bdp());
      // CSS then ended after its rounds, not by a loss: ssthresh = cwnd (RFC 9406 §4.2).
      REQUIRE(ca_cwnd);
      CHECK(*ca_ssthresh <= *ca_cwnd);  // (the same ACK's avoidance step may add a little)
      CHECK(*ca_cwnd - *ca_ssthresh < kMss);
      CHECK(double(*ca_cwnd) / *css_cwnd > 2.0);  // 1.25^4 to 1.25^5 of it
      CHECK(double(*ca_cwnd) / *css_cwnd < 3.2);
    }
  }

  TEST_CASE("HyStart++ rounds: CSS on an RTT rise, slow start again when it falls, CA after 5") {
    CubicCc cubic{kMss, 10 * kMss};
    AckClock clock{cubic, 40ms, kMss};
    clock.round();
    clock.round();
    CHECK(cubic.hystart_phase() == HystartPhase::SlowStart);
    CHECK(cubic.cwnd() == 40 * kMss);
    SUBCASE("a rise below the threshold (max(4 ms, min(40/8, 16)) = 5 ms) is not enough") {
      clock.set_rtt(44ms);
      clock.round();
      CHECK(cubic.hystart_phase() == HystartPhase::SlowStart);
    }
    SUBCASE("the RTT falls back in CSS: slow start resumes") {
      clock.set_rtt(45ms);
      clock.round();
      CHECK(cubic.hystart_phase() == HystartPhase::Css);
      clock.set_rtt(40ms);
      clock.round();
      CHECK(cubic.hystart_phase() == HystartPhase::SlowStart);
    }
    SUBCASE("CSS grows by a quarter per round and ends after CSS_ROUNDS rounds") {
      clock.set_rtt(60ms);
      clock.round();  // the 8th sample of this round enters CSS: a partial round
      REQUIRE(cubic.hystart_phase() == HystartPhase::Css);
      // Seven ACKs at slow start's pace, then 33 at a quarter of it.
      CHECK(cubic.cwnd() == (40 + 7) * kMss + 33 * kMss / 4);
      for (int round = 2; round <= 5; ++round) {
        const std::uint32_t before = cubic.cwnd();
        clock.round();
        CAPTURE(round);
        CHECK(cubic.hystart_phase() == HystartPhase::Css);
        CHECK(double(cubic.cwnd()) / before == doctest::Approx(1.25).epsilon(0.01));
      }
      clock.round();  // its first ACK starts round 6: congestion avoidance
      CHECK(cubic.hystart_phase() == HystartPhase::Done);
      CHECK_FALSE(cubic.in_slow_start());
      CHECK(cubic.k() == 0);  // RFC 9438 §4.10: no loss, so the curve starts here
    }
  }

  TEST_CASE("slow start counts every byte of a stretch ACK (Linux: no L limit)") {
    CubicCc cubic{kMss, 10 * kMss};
    AckSample s;
    s.now = Instant{1ms};
    s.acked = 20 * kMss;  // a stretch ACK, as GRO receivers send for a TSO burst
    s.cwnd_limited = true;
    cubic.on_ack(s);
    CHECK(cubic.cwnd() == 30 * kMss);
  }
}

}  // namespace
}  // namespace tapsrv::tcp
