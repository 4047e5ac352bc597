// BBR v1 (Linux tcp_bbr.c) over a drop-tail bottleneck in virtual time: it finds the
// bottleneck rate, leaves STARTUP after the plateau, DRAIN empties the queue, PROBE_BW cycles
// its gains from a seeded start, PROBE_RTT comes 10 s after the last new min RTT; pacing is
// gain x bw x 0.99. Recovery, RTO and app-limited samples on crafted ACKs.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "support/cc_model.hpp"
#include "tapsrv/tcp/cc_bbr.hpp"

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;
using test::BottleneckModel;
using test::LinkConfig;

constexpr std::uint32_t kMss = 1448;
constexpr std::uint32_t kIw = 10 * kMss;
// 10 Mbit/s, 40 ms: a BDP of 50 kB (34.5 segments), and four BDPs of buffer.
constexpr LinkConfig kLink{.rate = 1'250'000, .base_rtt = 40ms, .queue = 200'000};

double secs(Duration d) { return std::chrono::duration<double>(d).count(); }

// What one ACK-by-ACK run saw: per ACK, BBR's state and the link's.
struct Step {
  Instant t;
  BbrMode mode;
  std::uint64_t round, bw;
  std::uint32_t pacing_gain, cwnd_gain, cwnd, queue, in_flight;
  unsigned cycle;
  std::uint64_t pacing;
  bool full;
};

Step step_of(const BbrCc& bbr, const BottleneckModel& net, const AckSample& s) {
  return {s.now,
          bbr.mode(),
          bbr.round_count(),
          bbr.bw(),
          bbr.pacing_gain(),
          bbr.cwnd_gain(),
          bbr.cwnd(),
          net.queue_bytes(),
          s.in_flight,
          bbr.cycle_index(),
          *bbr.pacing_rate(),
          bbr.full_bw_reached()};
}

std::vector<Step> run(BbrCc& bbr, BottleneckModel& net, Duration d) {
  std::vector<Step> steps;
  net.on_ack_hook = [&](const AckSample& s) { steps.push_back(step_of(bbr, net, s)); };
  net.run_for(d);
  return steps;
}

AckSample ack(Instant now, std::uint64_t delivered, std::uint32_t in_flight,
              std::uint64_t prior_delivered, std::uint64_t rate_bytes, Duration interval) {
  AckSample s;
  s.now = now;
  s.acked = kMss;
  s.delivered = delivered;
  s.in_flight = s.prior_in_flight = in_flight;
  s.rtt = s.min_rtt = s.srtt = 10ms;
  s.cwnd_limited = true;
  s.rate = {.delivered = rate_bytes, .interval = interval, .prior_delivered = prior_delivered};
  return s;
}

TEST_SUITE("tcp.cc.bbr") {
  TEST_CASE("STARTUP finds the bottleneck rate within a few rounds and stops after the plateau") {
    BbrCc bbr{kMss, kIw};
    BottleneckModel net{kLink, bbr};
    const auto steps = run(bbr, net, 3s);
    // The estimate reaches 90% of the link within 8 rounds, and never claims more than it.
    std::optional<std::uint64_t> found;
    for (const auto& s : steps) {
      CHECK(s.bw <= kLink.rate * 102 / 100);
      if (!found && s.bw >= kLink.rate * 9 / 10) { found = s.round; }
    }
    REQUIRE(found);
    CHECK(*found <= 8);
    // Full pipe: three round starts in a row without 25% growth over the best so far.
    std::vector<std::uint64_t> bw_at_round;  // the estimate as each round began
    BbrMode mode = BbrMode::Startup;
    std::optional<std::size_t> drain_round;
    for (const auto& s : steps) {
      if (s.round > bw_at_round.size()) { bw_at_round.push_back(s.bw); }
      if (mode == BbrMode::Startup && s.mode != BbrMode::Startup && !drain_round) {
        drain_round = bw_at_round.size();
      }
      mode = s.mode;
    }
    REQUIRE(drain_round);
    std::uint64_t full_bw = 0;
    unsigned flat = 0;
    std::size_t expect = 0;
    for (std::size_t r = 0; r < bw_at_round.size() && expect == 0; ++r) {
      if (double(bw_at_round[r]) >= 1.25 * double(full_bw)) {
        full_bw = bw_at_round[r];
        flat = 0;
      } else if (++flat == 3) {
        expect = r + 1;
      }
    }
    CHECK(*drain_round == expect);
    CHECK(*drain_round <= *found + 4);
  }

  TEST_CASE("DRAIN empties the queue STARTUP built, then PROBE_BW keeps it small") {
    BbrCc bbr{kMss, kIw};
    BottleneckModel net{kLink, bbr};
    const auto steps = run(bbr, net, 10s);
    std::uint32_t startup_peak = 0;
    std::optional<Step> drained;
    for (const auto& s : steps) {
      if (s.mode == BbrMode::Startup || s.mode == BbrMode::Drain) {
        startup_peak = std::max(startup_peak, s.queue);
      }
      if (!drained && s.mode == BbrMode::ProbeBw) { drained = s; }
    }
    CHECK(startup_peak > net.bdp());  // STARTUP's 2.89 gain queued over a BDP
    REQUIRE(drained);
    // DRAIN ends once the flight is back at one BDP plus the TSO budget (3 x 2 segments).
    CHECK(drained->in_flight <= net.bdp() + 10 * kMss);
    CHECK(drained->queue <= 10 * kMss);
    CHECK(net.drops() == 0);
    // In PROBE_BW the link stays busy and the average queue stays well under a BDP.
    double queue_sum = 0;
    std::size_t n = 0;
    for (const auto& s : steps) {
      if (s.mode == BbrMode::ProbeBw && s.t > drained->t + 1s) {
        queue_sum += s.queue;
        ++n;
      }
    }
    REQUIRE(n > 0);
    CHECK(queue_sum / double(n) < 0.5 * double(net.bdp()));
    const double rate = double(net.delivered()) / secs(net.now() - Instant{});
    CHECK(rate > 0.9 * kLink.rate);
  }

  TEST_CASE("PROBE_BW cycles 5/4, 3/4 and six phases of 1, each about one min RTT long") {
    BbrCc bbr{kMss, kIw, {.seed = 7}};
    BottleneckModel net{kLink, bbr};
    const auto steps = run(bbr, net, 12s);
    struct Phase {
      unsigned cycle;
      std::uint32_t gain;
      Instant from;
    };
    std::vector<Phase> phases;
    for (const auto& s : steps) {
      if (s.mode == BbrMode::ProbeRtt) { break; }  // it restarts the cycle at random
      if (s.mode != BbrMode::ProbeBw) { continue; }
      if (phases.empty() || phases.back().cycle != s.cycle) {
        phases.push_back({s.cycle, s.pacing_gain, s.t});
      }
    }
    REQUIRE(phases.size() > 8 * 10);
    CHECK(phases.front().gain != 192);  // never starts by draining
    const double min_rtt = secs(*bbr.min_rtt());
    for (std::size_t i = 1; i + 1 < phases.size(); ++i) {
      CAPTURE(i);
      CHECK(phases[i].cycle == (phases[i - 1].cycle + 1) % 8);
      // Linux's bbr_pacing_gain[] in BBR_UNIT (256) fixed point: 5/4, 3/4, then 1.
      static constexpr std::uint32_t kLinuxCycle[8] = {320, 192, 256, 256, 256, 256, 256, 256};
      CHECK(phases[i].gain == kLinuxCycle[phases[i].cycle]);
      const double len = secs(phases[i + 1].from - phases[i].from);
      if (phases[i].gain == 256) {
        CHECK(len >= min_rtt);
        CHECK(len < min_rtt + 0.005);
      } else if (phases[i].gain > 256) {
        CHECK(len >= min_rtt);  // and until the flight reached 5/4 BDP
      } else {
        CHECK(len <= min_rtt + 0.005);  // ends early once the flight is back at a BDP
      }
    }
  }

  TEST_CASE("the random start phase comes from the seed: repeatable, varied, never 3/4") {
    std::set<unsigned> starts;
    for (std::uint64_t seed = 1; seed <= 16; ++seed) {
      std::optional<unsigned> first[2];
      for (auto& f : first) {
        BbrCc bbr{kMss, kIw, {.seed = seed}};
        BottleneckModel net{kLink, bbr};
        for (const auto& s : run(bbr, net, 1500ms)) {
          if (s.mode == BbrMode::ProbeBw) {
            f = s.cycle;
            break;
          }
        }
        REQUIRE(f);
      }
      CHECK(first[0] == first[1]);
      CHECK(*first[0] != 1);
      starts.insert(*first[0]);
    }
    CHECK(starts.size() >= 4);
  }

  TEST_CASE("pacing is gain x bw x 99%; in STARTUP it only rises") {
    BbrCc bbr{kMss, kIw};
    BottleneckModel net{kLink, bbr};
    const auto steps = run(bbr, net, 5s);
    std::uint64_t prev = 0;
    std::size_t checked = 0;
    std::set<BbrMode> seen;
    for (const auto& s : steps) {
      // The gains of each mode, as Linux's bbr_update_gains (BBR_UNIT = 256): high_gain
      // 2/ln 2 = 2.885 is 739, its inverse 88.
      seen.insert(s.mode);
      switch (s.mode) {
        case BbrMode::Startup:
          CHECK(s.pacing_gain == 739);
          CHECK(s.cwnd_gain == 739);
          break;
        case BbrMode::Drain:
          CHECK(s.pacing_gain == 88);
          CHECK(s.cwnd_gain == 739);
          break;
        case BbrMode::ProbeBw: CHECK(s.cwnd_gain == 512); break;
        case BbrMode::ProbeRtt:
          CHECK(s.pacing_gain == 256);
          CHECK(s.cwnd_gain == 256);
          break;
      }
      const double expect = double(s.bw) * s.pacing_gain / 256 * 0.99;
      if (s.full) {
        CHECK(double(s.pacing) == doctest::Approx(expect).epsilon(1e-6));
        ++checked;
      } else {
        CHECK(double(s.pacing) >= expect - 1);
        CHECK(s.pacing >= prev);
      }
      prev = s.pacing;
    }
    CHECK(checked > 1000);
    CHECK(seen.size() == 3);  // STARTUP, DRAIN, PROBE_BW (PROBE_RTT has its own test)
  }

  TEST_CASE("PROBE_RTT: 10 s after the last new min RTT, 4 segments for max(200 ms, a round)") {
    BbrCc bbr{kMss, kIw};
    BottleneckModel net{kLink, bbr};
    std::vector<Step> steps;
    std::optional<Instant> last_min_sample;  // the last sample that refreshed min_rtt
    bool longer = false, probed = false;
    net.on_ack_hook = [&](const AckSample& s) {
      probed = probed || bbr.mode() == BbrMode::ProbeRtt;
      if (!probed && s.rtt && *s.rtt == *bbr.min_rtt()) { last_min_sample = s.now; }
      if (!longer && s.now >= Instant{2s}) {
        net.set_base_rtt(50ms);  // the path gets longer: nothing matches the old minimum
        longer = true;
      }
      steps.push_back(step_of(bbr, net, s));
    };
    net.run_for(16s);
    REQUIRE(last_min_sample);
    std::optional<Instant> entered, left;
    for (const auto& s : steps) {
      if (!entered && s.mode == BbrMode::ProbeRtt) { entered = s.t; }
      if (entered && !left && s.mode != BbrMode::ProbeRtt) { left = s.t; }
      if (entered && !left) {
        CHECK(s.cwnd <= 4 * kMss);
        CHECK(s.pacing_gain == 256);
      }
    }
    REQUIRE(entered);
    REQUIRE(left);
    const double after = secs(*entered - *last_min_sample);
    CHECK(after >= 10.0);
    CHECK(after < 10.1);
    // 200 ms at 4 segments, which takes the flight a round trip or so to reach first.
    CHECK(secs(*left - *entered) >= 0.2);
    CHECK(secs(*left - *entered) < 0.2 + 0.2);
    CHECK(*bbr.min_rtt() > 50ms);  // the new path's RTT was measured
    CHECK(*bbr.min_rtt() < 52ms);
    CHECK(bbr.mode() == BbrMode::ProbeBw);
    CHECK(bbr.cwnd() > 30 * kMss);  // the window came back
    CHECK(net.drops() == 0);
  }

  // ACKs one at a time: each delivers one segment; its sample's segment was sent when
  // `behind` bytes less had been delivered.
  struct Feed {
    BbrCc& bbr;
    Instant now{};
    std::uint64_t delivered = 0;
    AckSample next(Duration gap, std::uint32_t in_flight, std::uint64_t behind,
                   std::uint64_t rate_bytes) {
      now += gap;
      delivered += kMss;
      return ack(now, delivered, in_flight, delivered > behind ? delivered - behind : 0, rate_bytes,
                 10ms);
    }
    // 40 segments per 10 ms for 50 ms: BBR's model settles at a BDP of 40 segments.
    void steady() {
      for (int i = 0; i < 200; ++i) { bbr.on_ack(next(250us, 40 * kMss, 40 * kMss, 40 * kMss)); }
    }
  };

  TEST_CASE("recovery: packet conservation for a round, then the old window is restored") {
    BbrCc bbr{kMss, kIw};
    Feed feed{bbr};
    feed.steady();
    const std::uint32_t before = bbr.cwnd();
    REQUIRE(before > 20 * kMss);
    bbr.on_congestion(feed.now, 40 * kMss);
    CHECK(bbr.cwnd() == before);  // no multiplicative cut
    auto s = feed.next(250us, 10 * kMss, 40 * kMss, 40 * kMss);
    s.in_recovery = true;
    s.lost = 3 * kMss;
    bbr.on_ack(s);
    CHECK(bbr.cwnd() == 11 * kMss);  // in flight + acked
    s = feed.next(250us, 11 * kMss, 40 * kMss, 40 * kMss);
    s.in_recovery = true;
    bbr.on_ack(s);
    CHECK(bbr.cwnd() == 12 * kMss);  // still conserving: max(cwnd, in flight + acked)
    bbr.on_ack(feed.next(250us, 11 * kMss, kMss, 40 * kMss));  // out of recovery
    // Restored (the target may have lost the 2 segments the probing phase adds).
    CHECK(bbr.cwnd() >= before - 2 * kMss);
  }

  TEST_CASE("RTO: one segment, slow start, and the old window back when recovery ends") {
    BbrCc bbr{kMss, kIw};
    Feed feed{bbr};
    feed.steady();
    const std::uint32_t before = bbr.cwnd();
    bbr.on_rto(feed.now, 40 * kMss);
    CHECK(bbr.cwnd() == kMss);
    auto s = feed.next(1ms, 0, kMss, kMss);
    s.in_recovery = true;
    bbr.on_ack(s);
    CHECK(bbr.cwnd() == 4 * kMss);  // bbr_cwnd_min_target
    bbr.on_ack(feed.next(1ms, 0, kMss, kMss));
    CHECK(bbr.cwnd() >= before - 2 * kMss);
  }

  TEST_CASE("app-limited samples never lower the estimate; the max ages out after 10 rounds") {
    BbrCc bbr{kMss, kIw};
    Instant now{};
    std::uint64_t delivered = 0;
    // One ACK per round (prior_delivered = what was delivered at the previous ACK).
    auto round = [&](std::uint64_t bytes, bool app_limited) {
      const std::uint64_t prior = delivered;
      now += 10ms;
      delivered += kMss;
      auto s = ack(now, delivered, 10 * kMss, prior, bytes, 10ms);
      s.rate.is_app_limited = app_limited;
      bbr.on_ack(s);
    };
    round(100'000, false);  // 10 MB/s
    CHECK(bbr.bw() == 10'000'000);
    for (int i = 0; i < 20; ++i) { round(10'000, true); }  // 1 MB/s, app-limited
    CHECK(bbr.bw() == 10'000'000);
    round(200'000, true);  // larger: taken even though app-limited
    CHECK(bbr.bw() == 20'000'000);
    for (int i = 0; i < 10; ++i) { round(50'000, false); }
    CHECK(bbr.bw() == 20'000'000);  // still within the 10-round window
    round(50'000, false);
    round(50'000, false);
    CHECK(bbr.bw() == 5'000'000);  // aged out
  }
}

}  // namespace
}  // namespace tapsrv::tcp
