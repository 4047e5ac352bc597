// Long randomized exchanges with fixed seeds: an echo connection under loss, duplication,
// reordering, zero windows and blind garbage, with the invariants checked after every step.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

constexpr std::uint32_t kWrapLocalIss = 0xfffff000U;  // both sides wrap during the run
constexpr std::uint32_t kWrapRemoteIss = 0xffffff00U;

/// The peer's side of an echo session: what it sent, what came back, what it knows of us.
struct EchoPeer {
  EchoPeer(TcpPeer& tp, std::mt19937& r, Buffer o) : p{tp}, rng{r}, out{std::move(o)} {}
  TcpPeer& p;
  std::mt19937& rng;
  Buffer out;
  std::size_t sent = 0;  // highest offset of `out` the peer has sent (possibly lost)
  Buffer echoed;         // what came back, in order
  std::uint32_t our_ack = kWrapRemoteIss + 1;
  std::uint32_t our_wnd = 0;
  std::uint16_t window = kPeerWindow;
  std::uint32_t lost_ours = 0;
  std::uint32_t garbage = 0;

  static constexpr std::uint32_t kOur0 = kWrapLocalIss + 1;
  static constexpr std::uint32_t kPeer0 = kWrapRemoteIss + 1;

  bool chance(unsigned percent) { return rng() % 100 < percent; }
  std::uint32_t ack_no() const { return kOur0 + static_cast<std::uint32_t>(echoed.size()); }
  std::size_t acked_by_us() const { return static_cast<std::uint32_t>(our_ack - kPeer0); }

  /// Takes our segments; `loss` percent of them vanish before the peer sees them.
  void absorb(unsigned loss) {
    for (const Sent& s : p.take_all()) {
      CHECK((s.flags() & kRst) == 0);
      if (chance(loss)) {
        ++lost_ours;
        continue;
      }
      if (static_cast<std::int32_t>(s.ack() - our_ack) > 0) { our_ack = s.ack(); }
      our_wnd = s.seg.window;
      if (s.payload.empty()) { continue; }
      const auto off = static_cast<std::size_t>(static_cast<std::uint32_t>(s.seq() - kOur0));
      // Echo: byte k of what comes back is byte k of what went out.
      REQUIRE(off + s.payload.size() <= out.size());
      CHECK(std::equal(s.payload.begin(), s.payload.end(),
                       out.begin() + static_cast<std::ptrdiff_t>(off)));
      if (off <= echoed.size() && off + s.payload.size() > echoed.size()) {
        const auto skip = static_cast<std::ptrdiff_t>(echoed.size() - off);
        echoed.insert(echoed.end(), s.payload.begin() + skip, s.payload.end());
      }
    }
  }
  void send_range(std::size_t off, std::size_t len) {
    p.send(data(kPeer0 + static_cast<std::uint32_t>(off), ack_no(),
                wire::Bytes{out}.subspan(off, len), window));
  }
  /// New data within our last advertised window; sometimes lost on the way.
  void send_new(unsigned loss) {
    const std::uint32_t right = our_ack + our_wnd;
    const auto room = static_cast<std::int32_t>(right - (kPeer0 + sent));
    if (room <= 0 || sent == out.size()) { return; }
    const std::size_t len = std::min<std::size_t>(
        {1 + rng() % kMss, out.size() - sent, static_cast<std::size_t>(room)});
    if (!chance(loss)) { send_range(sent, len); }
    sent += len;
  }
  /// Go back to what we acknowledged (the peer's own retransmission).
  void resend_head() {
    const std::size_t from = acked_by_us();
    if (from >= sent) { return; }
    send_range(from, std::min<std::size_t>(kMss, sent - from));
  }
  void send_old_duplicate() {
    if (sent == 0) { return; }
    const std::size_t off = rng() % sent;
    send_range(off, std::min<std::size_t>(1 + rng() % 200, sent - off));
  }
  void send_ack() { p.send(ack(kPeer0 + static_cast<std::uint32_t>(sent), ack_no(), window)); }
  void send_garbage() {
    ++garbage;
    const std::uint32_t rcv = our_ack;
    const Buffer junk = pattern(50, 99);
    switch (rng() % 5) {
      case 0: p.send(data(rcv + 100000 + rng() % 100000, ack_no(), junk, window)); break;
      case 1: p.send(rst(rcv + 1 + rng() % 1000)); break;  // in window, never exact
      case 2: p.send(syn(rcv + rng() % 1000)); break;
      case 3: p.send(ack(rcv, ack_no() + 1000000, window)); break;  // acks the future
      default: p.send(rst(rcv + 0x80000000U)); break;
    }
  }
};

/// Drops the engine may count for the garbage and the duplicates we send, and nothing else.
bool only_expected_drops(const std::string& drops) {
  std::istringstream in{drops};
  std::string d;
  while (in >> d) {
    const auto name = d.substr(0, d.find('+'));
    if (name != "tcp_out_of_window" && name != "tcp_rst_challenged" &&
        name != "tcp_syn_challenged" && name != "tcp_ack_too_new" &&
        name != "tcp_reassembly_full") {
      return false;
    }
  }
  return true;
}

TEST_SUITE("tcp.random") {
  TEST_CASE("randomized echo under loss, reordering, zero windows and garbage loses nothing") {
    for (const unsigned seed : {1U, 2U, 3U, 4U, 5U, 6U, 7U, 8U}) {
      CAPTURE(seed);
      std::mt19937 rng{seed};
      auto cfg = test_config();
      cfg.max_retransmits = 1000;  // the run must not give up while the peer is silent
      cfg.rto_max = 2s;
      TcpPeer p{cfg, kWrapLocalIss};
      p.listen(kPort, service::Kind::Echo);
      SynOptions o;
      o.sack = true;
      p.handshake(o, kPeerWindow, kWrapRemoteIss);
      EchoPeer peer{p, rng, pattern(60000, static_cast<std::uint8_t>(seed))};
      peer.our_wnd = 16384;
      p.check_invariants();

      for (int step = 0; step < 3000; ++step) {
        switch (rng() % 12) {
          case 0:
          case 1:
          case 2:
          case 3: peer.send_new(15); break;
          case 4: peer.resend_head(); break;
          case 5:
          case 6:
            peer.window = peer.chance(15) ? 0 : kPeerWindow;
            peer.send_ack();
            break;
          case 7:
          case 8: p.advance(Duration{1000 + rng() % 300000}); break;
          case 9: peer.send_old_duplicate(); break;
          case 10: peer.send_garbage(); break;
          default: peer.send_new(0); break;
        }
        peer.absorb(10);
        p.check_invariants();
        if (p.state() != State::Established) { break; }
      }
      REQUIRE(p.state() == State::Established);

      // Calm weather: no loss, an open window; everything must arrive and come back.
      peer.window = kPeerWindow;
      for (int i = 0; i < 3000 && peer.echoed.size() < peer.out.size(); ++i) {
        peer.send_new(0);
        if (i % 4 == 0) { peer.resend_head(); }
        peer.send_ack();
        p.advance(50ms);
        peer.absorb(0);
        p.check_invariants();
      }
      CHECK(peer.sent == peer.out.size());
      CHECK(peer.echoed.size() == peer.out.size());
      CHECK(peer.echoed == peer.out);
      CHECK(p.state() == State::Established);
      CHECK(p.stats().get(Counter::TcpBytesReceived) == peer.out.size());
      CHECK(p.stats().get(Counter::InternalBug) == 0);
      const std::string drops = p.drops();
      CAPTURE(drops);
      CHECK(only_expected_drops(drops));
      MESSAGE("seed ", seed, ": t=", p.elapsed().count() / 1000, "ms, ", peer.lost_ours,
              " of our segments lost, ", peer.garbage, " garbage; ", drops);
    }
  }

  TEST_CASE("randomized timer walk: deadlines are never overdue and connections finish") {
    for (const unsigned seed : {11U, 12U, 13U}) {
      CAPTURE(seed);
      std::mt19937 rng{seed};
      TcpPeer p = TcpPeer::listening();
      p.app().to_write = pattern(20000);
      p.app().close_after_write = true;
      p.handshake();
      // The peer acknowledges only sometimes, with random (valid) acknowledgment numbers.
      std::uint32_t best = kOurSeq;
      for (int step = 0; step < 400 && p.state() != State::Closed; ++step) {
        for (const Sent& s : p.take_all()) {
          const std::uint32_t end = s.seq() + static_cast<std::uint32_t>(s.payload.size()) +
                                    ((s.flags() & kFin) != 0 ? 1U : 0U);
          if (rng() % 3 != 0 && static_cast<std::int32_t>(end - best) > 0) { best = end; }
        }
        if (rng() % 2 == 0) {
          p.send(ack(kPeerSeq, best, static_cast<std::uint16_t>(rng() % 3 == 0 ? 0 : 30000)));
        }
        p.advance(Duration{rng() % 700000});
        p.check_invariants();
      }
      // Whatever happened, the connection ends: by FIN_WAIT_2's timeout or by giving up.
      if (p.state() != State::Closed) { p.send(ack(kPeerSeq, best, kPeerWindow)); }
      p.advance(120s);
      p.check_invariants();
      CHECK(p.state() == State::Closed);
      CHECK(p.engine().connection_count() == 0);
      CHECK(p.engine().next_deadline() == std::nullopt);
      CHECK(p.stats().get(Counter::InternalBug) == 0);
      CHECK(p.drops() == "");
    }
  }
}

}  // namespace
}  // namespace tapsrv::test
