// The SACK scoreboard on its own (RFC 6675 §3-§5): marking, splitting at MSS boundaries, pipe,
// IsLost, the timeout rule and SACK reneging, and RACK's time-based marking (RFC 8985 §6.2).
#include <doctest/doctest.h>

#include <vector>

#include "tapsrv/tcp/rack.hpp"
#include "tapsrv/tcp/scoreboard.hpp"

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;
using wire::SeqNum;

constexpr std::uint16_t kMss = 1000;
constexpr SeqNum kBase{1'000'000};

struct Recorder final : DeliverySink {
  struct Item {
    std::uint32_t begin;
    std::uint32_t bytes;
    bool by_sack;
  };
  std::vector<Item> items;
  void on_delivered(const SentSegment& s, std::uint32_t bytes, bool by_sack) noexcept override {
    items.push_back({s.begin.raw - kBase.raw, bytes, by_sack});
  }
};

/// `n` segments of one MSS each, sent 1 ms apart from t = 0.
Scoreboard sent(unsigned n) {
  Scoreboard sb;
  for (unsigned i = 0; i < n; ++i) {
    sb.on_send(kBase + i * kMss, kMss, kMss, false, Instant{} + i * 1ms, TxStamp{});
  }
  return sb;
}

TEST_SUITE("tcp.scoreboard") {
  TEST_CASE("ranges sent together are one entry; SACK splits it at MSS boundaries only") {
    Scoreboard sb;
    sb.on_send(kBase, 10 * kMss, kMss, false, Instant{}, TxStamp{});  // one TSO burst
    CHECK(sb.size() == 1);
    CHECK(sb.outstanding() == 10 * kMss);
    Recorder r;
    // A block that starts and ends inside segments covers only the whole segments within it.
    sb.on_sack(kBase + 2 * kMss + 500, kBase + 6 * kMss + 200, r);
    REQUIRE(r.items.size() == 1);
    CHECK(r.items[0].begin == 3 * kMss);
    CHECK(r.items[0].bytes == 3 * kMss);
    CHECK(sb.sacked() == 3 * kMss);
    CHECK(sb.size() == 3);
    CHECK(sb.pipe() == 7 * kMss);
    // The same block again reports nothing new.
    sb.on_sack(kBase + 3 * kMss, kBase + 6 * kMss, r);
    CHECK(r.items.size() == 1);
  }

  TEST_CASE("a cumulative ACK trims and removes entries, reporting only bytes not SACKed") {
    Scoreboard sb = sent(5);
    Recorder r;
    sb.on_sack(kBase + 3 * kMss, kBase + 4 * kMss, r);
    sb.on_cumulative_ack(kBase + 4 * kMss + 300, r);  // into the fifth segment
    // Delivered: segments 0-2 cumulatively, 3 by SACK before, 300 bytes of 4.
    REQUIRE(r.items.size() == 5);
    CHECK(r.items[4].bytes == 300);
    CHECK_FALSE(r.items[4].by_sack);
    CHECK(sb.size() == 1);
    CHECK(sb.outstanding() == 700);
    CHECK(sb.sacked() == 0);
    CHECK(sb.entry(0).begin == kBase + 4 * kMss + 300);
  }

  TEST_CASE("RFC 6675 IsLost: DupThresh segments SACKed above a hole, or their bytes") {
    SUBCASE("three segments above: the hole is lost, the one above it with two is not") {
      Scoreboard sb = sent(6);
      Recorder r;
      sb.on_sack(kBase + 3 * kMss, kBase + 6 * kMss, r);  // 0, 1, 2 missing
      CHECK(sb.mark_lost_by_sack(3, kMss) == 3 * kMss);
      CHECK(sb.lost() == 3 * kMss);
      CHECK(sb.pipe() == 0);
      CHECK(sb.next_lost() == 0);
    }
    SUBCASE("one large SACKed range counts by bytes, not by how many blocks reported it") {
      Scoreboard sb;
      sb.on_send(kBase, kMss, kMss, false, Instant{}, TxStamp{});
      sb.on_send(kBase + kMss, 26 * kMss, kMss, false, Instant{} + 1ms, TxStamp{});
      Recorder r;
      sb.on_sack(kBase + kMss, kBase + 27 * kMss, r);  // one ACK, one block, 26 segments
      CHECK(sb.mark_lost_by_sack(3, kMss) == kMss);
    }
    SUBCASE("two segments above are not enough") {
      Scoreboard sb = sent(3);
      Recorder r;
      sb.on_sack(kBase + kMss, kBase + 3 * kMss, r);
      CHECK(sb.mark_lost_by_sack(3, kMss) == 0);
    }
  }

  TEST_CASE("a retransmission is in flight again; pipe counts it; SACK clears both marks") {
    Scoreboard sb = sent(4);
    Recorder r;
    sb.on_sack(kBase + kMss, kBase + 4 * kMss, r);
    sb.mark_lost_by_sack(3, kMss);
    REQUIRE(sb.next_lost() == 0);
    sb.on_retransmit(0, kMss, Instant{} + 10ms, TxStamp{});
    CHECK(sb.retrans() == kMss);
    CHECK(sb.pipe() == kMss);
    CHECK(sb.next_lost() == sb.size());  // nothing else waits
    CHECK(sb.entry(0).has(SentSegment::kEverRetrans));
    sb.on_sack(kBase, kBase + kMss, r);
    CHECK(sb.lost() == 0);
    CHECK(sb.retrans() == 0);
    CHECK(sb.pipe() == 0);
  }

  TEST_CASE("after a timeout only what is not SACKed is lost (RFC 6675 §5.1)") {
    Scoreboard sb = sent(5);
    Recorder r;
    sb.on_sack(kBase + 2 * kMss, kBase + 4 * kMss, r);
    sb.mark_all_lost();
    CHECK(sb.lost() == 3 * kMss);
    CHECK(sb.sacked() == 2 * kMss);
    CHECK(sb.next_lost() == 0);
    sb.on_retransmit(0, kMss, Instant{} + 1s, TxStamp{});
    sb.on_retransmit(1, kMss, Instant{} + 1s, TxStamp{});
    CHECK(sb.next_lost() == 4);  // the SACKed pair is skipped
  }

  TEST_CASE("a SACKed entry at SND.UNA means the peer reneged: a timeout forgets every SACK") {
    Scoreboard sb = sent(3);
    Recorder r;
    sb.on_sack(kBase, kBase + kMss, r);  // SACKed, yet never acknowledged cumulatively
    sb.mark_all_lost();
    CHECK(sb.sacked() == 0);
    CHECK(sb.lost() == 3 * kMss);
  }

  // A send ring that wraps mid-segment cuts a short piece (Connection::send_new_data); the
  // segments after it start off the run's MSS grid. Seen at 1% loss without offload: SACKs of
  // those segments were not recorded, RACK marked them lost and ~95% of resends were DSACKed.
  TEST_CASE("a short piece ends its entry, so SACKs of the segments after it are recorded") {
    Scoreboard sb;
    const Instant t{};
    sb.on_send(kBase, 3 * kMss, kMss, false, t, TxStamp{});
    sb.on_send(kBase + 3 * kMss, 300, kMss, false, t, TxStamp{});  // cut by the ring's end
    sb.on_send(kBase + 3 * kMss + 300, kMss, kMss, false, t, TxStamp{});
    sb.on_send(kBase + 4 * kMss + 300, kMss, kMss, false, t, TxStamp{});
    CHECK(sb.size() == 2);  // [3 segments + the short piece] [2 segments]
    Recorder r;
    // Exactly the last segment, as the receiver reports it.
    sb.on_sack(kBase + 4 * kMss + 300, kBase + 5 * kMss + 300, r);
    REQUIRE(r.items.size() == 1);
    CHECK(r.items[0].begin == 4 * kMss + 300);
    CHECK(sb.sacked() == kMss);
    // And the short piece with the segment before it.
    sb.on_sack(kBase + 2 * kMss, kBase + 3 * kMss + 300, r);
    CHECK(sb.sacked() == 2 * kMss + 300);
  }

  TEST_CASE("a resend cut short keeps the rest on the segments' grid") {
    Scoreboard sb;
    sb.on_send(kBase, 5 * kMss, kMss, false, Instant{}, TxStamp{});
    sb.mark_all_lost();
    // The ring ends 300 bytes into the range: only that much goes in one piece.
    sb.on_retransmit(sb.next_lost(), 300, Instant{} + 10ms, TxStamp{});
    REQUIRE(sb.size() == 3);
    CHECK(sb.entry(0).len == 300);
    CHECK(sb.entry(1).len == kMss - 300);  // the rest of the first segment, on its own
    CHECK(sb.entry(2).begin == kBase + kMss);
    // The peer got the original third segment: its SACK is recorded whole.
    Recorder r;
    sb.on_sack(kBase + 2 * kMss, kBase + 3 * kMss, r);
    CHECK(sb.sacked() == kMss);
  }

  TEST_CASE("splits stop at the entry limit; nothing is miscounted") {
    Scoreboard sb;
    sb.on_send(kBase, 1, 1, false, Instant{}, TxStamp{});
    const std::uint32_t big = 3 * Scoreboard::kMaxEntries;
    sb.on_send(kBase + 1, big, 1, false, Instant{} + 1ms, TxStamp{});
    Recorder r;
    for (std::uint32_t i = 0; i < big; i += 3) { sb.on_sack(kBase + 2 + i, kBase + 3 + i, r); }
    CHECK(sb.size() <= Scoreboard::kMaxEntries + 1);
    std::uint64_t sacked = 0;
    for (std::size_t i = 0; i < sb.size(); ++i) {
      if (sb.entry(i).has(SentSegment::kSacked)) { sacked += sb.entry(i).len; }
    }
    CHECK(sacked == sb.sacked());
    CHECK(sb.outstanding() == big + 1);
  }
}

TEST_SUITE("tcp.rack") {
  TEST_CASE("a segment sent before a delivered one is lost after RACK.rtt + reo_wnd") {
    Scoreboard sb = sent(3);  // at 0, 1, 2 ms
    Rack rack;
    Recorder r;
    sb.on_sack(kBase + 2 * kMss, kBase + 3 * kMss, r);
    rack.on_delivered(sb.entry(2), Instant{} + 12ms, 10ms);  // RACK.rtt = 10 ms
    std::optional<Duration> rearm;
    // reo_wnd 2 ms: segment 0 (sent at 0) is lost from 12 ms, segment 1 from 13 ms.
    CHECK(rack.detect_loss(sb, Instant{} + 12ms, 2ms, rearm) == kMss);
    REQUIRE(rearm);
    CHECK(*rearm == 1ms);
    CHECK(rack.detect_loss(sb, Instant{} + 13ms, 2ms, rearm) == kMss);
    CHECK_FALSE(rearm);
  }

  TEST_CASE("a lost retransmission is found: a later-sent segment got through, it did not") {
    Scoreboard sb = sent(4);
    Rack rack;
    Recorder r;
    sb.on_sack(kBase + kMss, kBase + 4 * kMss, r);
    sb.mark_lost_by_sack(3, kMss);
    sb.on_retransmit(0, kMss, Instant{} + 20ms, TxStamp{});  // resent at 20 ms
    sb.on_send(kBase + 4 * kMss, kMss, kMss, false, Instant{} + 21ms, TxStamp{});  // new, 21 ms
    sb.on_sack(kBase + 4 * kMss, kBase + 5 * kMss, r);
    rack.on_delivered(sb.entry(sb.size() - 1), Instant{} + 31ms, 10ms);
    std::optional<Duration> rearm;
    CHECK(rack.detect_loss(sb, Instant{} + 31ms, 0ms, rearm) == 0);  // already counted lost
    CHECK(sb.retrans() == 0);                                        // but no longer in flight:
    CHECK(sb.next_lost() == 0);  // it waits to be sent a third time
  }

  TEST_CASE("a SACK echoing a timestamp older than the resend is the earlier copy's (step 2)") {
    for (const bool echo_predates : {false, true}) {
      CAPTURE(echo_predates);
      Scoreboard sb = sent(4);
      Rack rack;
      Recorder r;
      sb.mark_all_lost();
      sb.on_retransmit(0, kMss, Instant{} + 20ms, TxStamp{});
      sb.on_retransmit(1, kMss, Instant{} + 25ms, TxStamp{});
      // Segment 1's first copy, held in a queue, arrives at 40 ms: 15 ms after the resend, more
      // than the minimum RTT of 1 ms, so only the echoed timestamp tells the copies apart.
      sb.on_sack(kBase + kMss, kBase + 2 * kMss, r);
      rack.on_delivered(sb.entry(1), Instant{} + 40ms, 1ms, echo_predates);
      std::optional<Duration> rearm;
      // Taken for the resend, it would make segment 0's resend (at 20 ms) lost at once.
      CHECK(rack.detect_loss(sb, Instant{} + 40ms, 0ms, rearm) == 0);
      CHECK(sb.retrans() == (echo_predates ? kMss : 0));  // segment 0's resend still in flight
    }
  }

  TEST_CASE("reo_wnd: zero in recovery without reordering; DSACKs widen it, 16 recoveries shrink") {
    Rack rack;
    CHECK(rack.reo_wnd(true, 0, 8ms, 10ms) == 0ms);
    CHECK(rack.reo_wnd(false, 3, 8ms, 10ms) == 0ms);
    CHECK(rack.reo_wnd(false, 1, 8ms, 10ms) == 2ms);
    // A segment sent once, delivered below what was delivered before it: reordering.
    Scoreboard sb = sent(2);
    rack.on_delivered(sb.entry(1), Instant{} + 20ms, 8ms);
    rack.on_delivered(sb.entry(0), Instant{} + 21ms, 8ms);
    CHECK(rack.reordering_seen());
    CHECK(rack.reo_wnd(true, 0, 8ms, 10ms) == 2ms);
    rack.on_dsack(kBase + 10 * kMss);
    rack.on_ack_done(kBase, false);
    CHECK(rack.reo_wnd(true, 0, 8ms, 10ms) == 4ms);
    rack.on_dsack(kBase + 10 * kMss);  // the same round: no further widening
    rack.on_ack_done(kBase, false);
    CHECK(rack.reo_wnd_mult() == 2);
    CHECK(rack.reo_wnd(true, 0, 8ms, 3ms) == 3ms);  // never beyond SRTT
    for (int i = 0; i < 16; ++i) { rack.on_ack_done(kBase + 11 * kMss, true); }
    CHECK(rack.reo_wnd_mult() == 1);
  }
}

}  // namespace
}  // namespace tapsrv::tcp
