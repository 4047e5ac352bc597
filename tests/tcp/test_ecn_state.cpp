// tcp::EcnState (RFC 3168 §6.1) on its own: negotiation, codepoints, the CE echo and the
// once-per-window reduction with CWR, with the Linux choices the state follows.
#include <doctest/doctest.h>

#include <array>

#include "tapsrv/core/stats.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/ecn.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::test {
namespace {

using tcp::EcnMarking;
using wire::Ecn;
using wire::SeqNum;
using wire::TcpFlags;

constexpr std::uint8_t kSyn = TcpFlags::kSyn, kAck = TcpFlags::kAck, kEce = TcpFlags::kEce,
                       kCwr = TcpFlags::kCwr, kPsh = TcpFlags::kPsh;
constexpr auto kSetup = static_cast<std::uint8_t>(kEce | kCwr);
const std::array<std::byte, 100> kData{};

wire::TcpSegment segment(std::uint8_t flags, Ecn ecn = Ecn::NotEct, std::uint32_t ack = 0,
                         bool with_data = false) {
  wire::TcpSegment s{.seq = SeqNum{1000}, .ack = SeqNum{ack}, .flags = TcpFlags{flags}};
  if (with_data) { s.payload = kData; }
  s.ecn = ecn;
  return s;
}
wire::TcpSegment data(Ecn ecn, std::uint8_t extra_flags = 0) {
  return segment(static_cast<std::uint8_t>(kAck | kPsh | extra_flags), ecn, 0, true);
}
wire::TcpSegment ack(std::uint32_t n, std::uint8_t extra_flags = 0) {
  return segment(static_cast<std::uint8_t>(kAck | extra_flags), Ecn::NotEct, n);
}

struct Fixture {
  tcp::Config cfg;
  Stats stats;
  tcp::EcnState ecn{cfg, stats};

  /// A passive open that agreed on ECN.
  void negotiate() {
    ecn.on_syn(segment(kSyn | kSetup));
    REQUIRE(ecn.enabled());
  }
  [[nodiscard]] std::uint64_t get(Counter c) const { return stats.get(c); }
};

constexpr EcnMarking kPlain{};
constexpr EcnMarking kEct{.ecn = Ecn::Ect0};

TEST_SUITE("tcp.ecn") {
  TEST_CASE("§6.1.1 passive: an ECN-setup SYN gets a SYN-ACK with ECE and without CWR") {
    Fixture f;
    f.ecn.on_syn(segment(kSyn | kSetup));
    CHECK(f.ecn.enabled());
    CHECK(f.ecn.syn_ack_flags() == kEce);
    CHECK(f.ecn.syn_ack_flags() == kEce);  // and so does a retransmitted SYN-ACK
    CHECK(f.get(Counter::TcpEcnNegotiated) == 1);
  }

  TEST_CASE("§6.1.1 passive: no ECN without both flags, when configured off, or for an ECT SYN") {
    Fixture f;
    SUBCASE("plain SYN") { f.ecn.on_syn(segment(kSyn)); }
    SUBCASE("ECE only") { f.ecn.on_syn(segment(kSyn | kEce)); }
    SUBCASE("CWR only") { f.ecn.on_syn(segment(kSyn | kCwr)); }
    SUBCASE("--no-ecn") {
      f.cfg.ecn = false;
      f.ecn.on_syn(segment(kSyn | kSetup));
    }
    // Linux tcp_ecn_create_request: a SYN must be Not-ECT; one that is not is refused ECN.
    SUBCASE("SYN sent ECT(0)") { f.ecn.on_syn(segment(kSyn | kSetup, Ecn::Ect0)); }
    SUBCASE("SYN marked CE") { f.ecn.on_syn(segment(kSyn | kSetup, Ecn::Ce)); }
    CHECK_FALSE(f.ecn.enabled());
    CHECK(f.ecn.syn_ack_flags() == 0);
    CHECK(f.get(Counter::TcpEcnNegotiated) == 0);
  }

  TEST_CASE("without agreement nothing is ever marked, echoed or reduced") {
    Fixture f;
    f.ecn.on_syn(segment(kSyn));
    CHECK_FALSE(f.ecn.on_segment(data(Ecn::Ce)));
    CHECK_FALSE(f.ecn.is_echoing_ce());
    CHECK_FALSE(f.ecn.on_ack(ack(5000, kEce), SeqNum{9000}));
    f.ecn.on_loss_reduction(SeqNum{9000});
    CHECK(f.ecn.on_send(true, false) == kPlain);
    CHECK(f.ecn.on_send(false, false) == kPlain);
    CHECK(f.ecn.codepoint_for(true, false) == Ecn::NotEct);
    CHECK(f.get(Counter::TcpCeReceived) == 0);
    CHECK(f.get(Counter::TcpEceReceived) == 0);
    CHECK(f.get(Counter::TcpEcnReductions) == 0);
  }

  TEST_CASE("§6.1.1 active: we ask only when configured to (Linux tcp_ecn=1)") {
    Fixture f;
    SUBCASE("default (tcp_ecn=2): our SYN does not ask, an ECE SYN-ACK changes nothing") {
      CHECK(f.ecn.syn_flags(false) == 0);
      f.ecn.on_syn_ack(segment(kSyn | kAck | kEce));
      CHECK_FALSE(f.ecn.enabled());
    }
    SUBCASE("ecn off overrides ecn_on_connect") {
      f.cfg.ecn = false;
      f.cfg.ecn_on_connect = true;
      CHECK(f.ecn.syn_flags(false) == 0);
      f.ecn.on_syn_ack(segment(kSyn | kAck | kEce));
      CHECK_FALSE(f.ecn.enabled());
    }
    CHECK(f.get(Counter::TcpEcnNegotiated) == 0);
  }

  TEST_CASE("§6.1.1 active: ECE|CWR in the SYN; a SYN-ACK with ECE and not CWR confirms") {
    Fixture f;
    f.cfg.ecn_on_connect = true;
    CHECK(f.ecn.syn_flags(false) == kSetup);
    SUBCASE("ECE only: agreed") {
      f.ecn.on_syn_ack(segment(kSyn | kAck | kEce));
      CHECK(f.ecn.enabled());
      CHECK(f.get(Counter::TcpEcnNegotiated) == 1);
    }
    SUBCASE("ECE and CWR: a reflection, not an answer") {
      f.ecn.on_syn_ack(segment(kSyn | kAck | kSetup));
      CHECK_FALSE(f.ecn.enabled());
    }
    SUBCASE("no ECE: the peer declined") {
      f.ecn.on_syn_ack(segment(kSyn | kAck));
      CHECK_FALSE(f.ecn.enabled());
    }
  }

  TEST_CASE("§6.1.1.1 a retransmitted SYN no longer asks, but a late ECN SYN-ACK still counts") {
    Fixture f;
    f.cfg.ecn_on_connect = true;
    CHECK(f.ecn.syn_flags(false) == kSetup);
    CHECK(f.ecn.syn_flags(true) == 0);  // Linux tcp_ecn_clear_syn
    f.ecn.on_syn_ack(segment(kSyn | kAck | kEce));
    CHECK(f.ecn.enabled());
  }

  TEST_CASE("ECT(0) for new data only: not for ACKs, probes, keepalives or retransmissions") {
    Fixture f;
    f.negotiate();
    CHECK(f.ecn.codepoint_for(true, false) == Ecn::Ect0);
    CHECK(f.ecn.codepoint_for(true, true) == Ecn::NotEct);    // §6.1.5 retransmission
    CHECK(f.ecn.codepoint_for(false, false) == Ecn::NotEct);  // §6.1.4 pure ACK, FIN, RST
    CHECK(f.ecn.codepoint_for(false, true) == Ecn::NotEct);   // §6.1.6 probe at SND.UNA - 1
    CHECK(f.ecn.on_send(true, false) == kEct);
    CHECK(f.ecn.on_send(true, true) == kPlain);
    CHECK(f.ecn.on_send(false, false) == kPlain);
  }

  TEST_CASE("§6.1.3 a CE data segment makes every segment carry ECE until CWR arrives") {
    Fixture f;
    f.negotiate();
    CHECK(f.ecn.on_segment(data(Ecn::Ce)));  // the first CE is acknowledged at once (Linux)
    CHECK(f.ecn.is_echoing_ce());
    CHECK(f.ecn.on_send(false, false) == EcnMarking{.ecn = Ecn::NotEct, .flags = kEce});
    CHECK(f.ecn.on_send(true, false) == EcnMarking{.ecn = Ecn::Ect0, .flags = kEce});
    CHECK(f.ecn.on_send(true, true) == EcnMarking{.ecn = Ecn::NotEct, .flags = kEce});
    CHECK_FALSE(f.ecn.on_segment(data(Ecn::Ce)));  // a second CE changes nothing
    CHECK_FALSE(f.ecn.on_segment(data(Ecn::Ect0)));
    CHECK(f.ecn.is_echoing_ce());
    CHECK(f.get(Counter::TcpCeReceived) == 2);

    SUBCASE("CWR on data ends the echo and is acknowledged at once (tcp_ecn_accept_cwr)") {
      CHECK(f.ecn.on_segment(data(Ecn::Ect0, kCwr)));
      CHECK_FALSE(f.ecn.is_echoing_ce());
    }
    SUBCASE("CWR on a pure ACK ends it too, as Linux accepts, without an ACK of its own") {
      CHECK_FALSE(f.ecn.on_segment(ack(0, kCwr)));
      CHECK_FALSE(f.ecn.is_echoing_ce());
    }
    SUBCASE("CWR on a segment that is itself CE: the echo starts again") {
      CHECK(f.ecn.on_segment(data(Ecn::Ce, kCwr)));
      CHECK(f.ecn.is_echoing_ce());
    }
    if (!f.ecn.is_echoing_ce()) {
      CHECK(f.ecn.on_send(false, false) == kPlain);
      CHECK(f.ecn.on_send(true, false) == kEct);
    }
  }

  TEST_CASE("§6.1.3 only data counts: CE on a segment without payload is not echoed") {
    Fixture f;
    f.negotiate();
    CHECK_FALSE(f.ecn.on_segment(segment(kAck, Ecn::Ce)));
    CHECK_FALSE(f.ecn.is_echoing_ce());
    CHECK(f.get(Counter::TcpCeReceived) == 0);
  }

  TEST_CASE("Linux: Not-ECT data after ECT data is a likely retransmission, ACKed at once") {
    Fixture f;
    f.negotiate();
    CHECK_FALSE(f.ecn.on_segment(data(Ecn::NotEct)));  // no ECT seen yet
    CHECK_FALSE(f.ecn.on_segment(data(Ecn::Ect0)));
    CHECK(f.ecn.on_segment(data(Ecn::NotEct)));
    CHECK_FALSE(f.ecn.is_echoing_ce());
  }

  TEST_CASE("§6.1.2 ECE reduces once per window; CWR goes on the next new data, once") {
    Fixture f;
    f.negotiate();
    // 10 segments in flight, SND.UNA 1000, SND.NXT 15600.
    CHECK(f.ecn.on_ack(ack(2460, kEce), SeqNum{15600}));
    CHECK(f.ecn.is_reducing());
    // The receiver echoes until our CWR arrives: the rest of this window asks for nothing.
    for (std::uint32_t a = 3920; a <= 15600; a += 1460) {
      CAPTURE(a);
      CHECK_FALSE(f.ecn.on_ack(ack(a, kEce), SeqNum{18520}));
    }
    CHECK(f.get(Counter::TcpEceReceived) == 10);
    CHECK(f.get(Counter::TcpEcnReductions) == 1);
    // A retransmission neither carries CWR nor uses it up; the next new data does, once.
    CHECK(f.ecn.on_send(true, true) == kPlain);
    CHECK(f.ecn.on_send(false, false) == kPlain);
    CHECK(f.ecn.on_send(true, false) == EcnMarking{.ecn = Ecn::Ect0, .flags = kCwr});
    CHECK(f.ecn.on_send(true, false) == kEct);

    SUBCASE("ECE on an ACK beyond the mark is a new window's signal") {
      CHECK(f.ecn.on_ack(ack(15601, kEce), SeqNum{20000}));
      CHECK(f.get(Counter::TcpEcnReductions) == 2);
      CHECK(f.ecn.on_send(true, false) == EcnMarking{.ecn = Ecn::Ect0, .flags = kCwr});
    }
    SUBCASE("an ACK beyond the mark without ECE ends the reduction") {
      CHECK_FALSE(f.ecn.on_ack(ack(17060), SeqNum{20000}));
      CHECK_FALSE(f.ecn.is_reducing());
      CHECK(f.ecn.on_ack(ack(18520, kEce), SeqNum{21000}));
    }
  }

  TEST_CASE("§6.1.2 the once-per-window rule holds across a sequence number wrap") {
    Fixture f;
    f.negotiate();
    const SeqNum snd_nxt{0xfffffff0U};  // the window ends 16 bytes before the wrap
    CHECK(f.ecn.on_ack(ack(0xffffe000U, kEce), snd_nxt));
    CHECK_FALSE(f.ecn.on_ack(ack(0xfffffff0U, kEce), SeqNum{0x00000400U}));  // at the mark
    // Past the mark, though smaller as a plain integer: modulo 2^32 it is later.
    CHECK(f.ecn.on_ack(ack(0x00000010U, kEce), SeqNum{0x00000400U}));
    CHECK_FALSE(f.ecn.on_ack(ack(0x00000200U, kEce), SeqNum{0x00000800U}));
    CHECK(f.ecn.on_ack(ack(0x00000401U, kEce), SeqNum{0x00000800U}));
    CHECK(f.get(Counter::TcpEcnReductions) == 3);
  }

  TEST_CASE("ECE on a SYN-ACK is negotiation, never congestion") {
    Fixture f;
    f.negotiate();
    CHECK_FALSE(f.ecn.on_ack(segment(kSyn | kAck | kEce, Ecn::NotEct, 5000), SeqNum{9000}));
    CHECK(f.get(Counter::TcpEceReceived) == 0);
  }

  TEST_CASE("§6.1.2 a loss reduction queues CWR and covers ECE in the same window") {
    Fixture f;
    f.negotiate();
    f.ecn.on_loss_reduction(SeqNum{50000});
    CHECK(f.ecn.is_reducing());
    CHECK_FALSE(f.ecn.on_ack(ack(40000, kEce), SeqNum{50000}));
    CHECK(f.ecn.on_send(true, false) == EcnMarking{.ecn = Ecn::Ect0, .flags = kCwr});
    CHECK(f.ecn.on_ack(ack(50001, kEce), SeqNum{60000}));
    CHECK(f.get(Counter::TcpEceReceived) == 2);
    CHECK(f.get(Counter::TcpEcnReductions) == 1);  // the loss was the connection's to count
  }
}

}  // namespace
}  // namespace tapsrv::test
