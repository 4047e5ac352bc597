// Two engines, one active open, over a seeded lossy link in virtual time (smoltcp's netsim,
// QUICHE's simulator): 1 MiB must arrive intact, in bounded time, whatever the link does.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tapsrv/tcp/engine.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::tcp {
namespace {

using namespace std::chrono_literals;

constexpr wire::Ipv4Addr kIpA = wire::Ipv4Addr::from_octets(10, 0, 0, 1);
constexpr wire::Ipv4Addr kIpB = wire::Ipv4Addr::from_octets(10, 0, 0, 2);
constexpr std::uint16_t kPortA = 40000;
constexpr std::uint16_t kPortB = 80;

std::byte pattern_byte(std::size_t i) { return static_cast<std::byte>((i * 2654435761U) >> 13); }

/// Writes `total` bytes of the pattern as buffer space allows, then closes.
class Source final : public ConnectionHandler {
 public:
  explicit Source(std::size_t total) : total_{total} {}
  void on_established(Connection& c) override { pump(c); }
  void on_writable(Connection& c) override { pump(c); }
  void on_readable(Connection& c) override { c.consume(c.readable()); }

 private:
  void pump(Connection& c) {
    std::array<std::byte, 4096> chunk{};
    while (sent_ < total_ && c.writable() > 0) {
      const std::size_t n = std::min({chunk.size(), c.writable(), total_ - sent_});
      for (std::size_t i = 0; i < n; ++i) { chunk[i] = pattern_byte(sent_ + i); }
      sent_ += c.write(wire::Bytes{chunk}.first(n));
    }
    if (sent_ == total_) { c.close(); }
  }
  std::size_t total_;
  std::size_t sent_ = 0;
};

/// Reads everything, checks it against the pattern as it goes, closes when the peer has.
class Sink final : public ConnectionHandler {
 public:
  std::size_t received = 0;
  std::size_t mismatches = 0;
  bool peer_closed = false;
  void on_readable(Connection& c) override {
    while (c.readable() > 0) {
      const auto run = c.peek(c.readable());
      for (std::size_t i = 0; i < run.size(); ++i) {
        if (run[i] != pattern_byte(received + i)) { ++mismatches; }
      }
      received += run.size();
      c.consume(run.size());
    }
    if (c.peer_closed()) {
      peer_closed = true;
      c.close();
    }
  }
};

class SourceFactory final : public HandlerFactory {
 public:
  explicit SourceFactory(std::size_t total) : total_{total} {}
  std::unique_ptr<ConnectionHandler> make(const FourTuple&) override {
    return std::make_unique<Source>(total_);
  }

 private:
  std::size_t total_;
};

class SinkFactory final : public HandlerFactory {
 public:
  Sink* last = nullptr;
  std::vector<std::unique_ptr<Sink>> keep;  // outlive the connection, for the checks
  std::unique_ptr<ConnectionHandler> make(const FourTuple&) override {
    // The engine owns handlers; hand it a forwarding shim so the test keeps the Sink.
    keep.push_back(std::make_unique<Sink>());
    last = keep.back().get();
    struct Shim final : ConnectionHandler {
      Sink* s;
      explicit Shim(Sink* sink) : s{sink} {}
      void on_readable(Connection& c) override { s->on_readable(c); }
    };
    return std::make_unique<Shim>(last);
  }
};

struct LinkParams {
  double loss = 0;
  double duplicate = 0;
  double reorder = 0;
  Duration latency = 1ms;
  // Gilbert-Elliott bursts: from the good state a packet starts a burst with this chance; in
  // a burst every packet is lost and the burst ends with chance 1 / burst_length.
  double burst = 0;
  double burst_length = 1;
};

/// Segments in flight, encoded to bytes (so the codec and checksum are exercised too).
class LossyLink {
 public:
  LossyLink(std::uint32_t seed, LinkParams p) : rng_{seed}, p_{p} {}

  void push(Instant now, bool to_b, wire::Ipv4Addr src, wire::Ipv4Addr dst,
            const wire::TcpSegment& seg) {
    ++sent_;
    if (in_burst_ ? !chance(1.0 / p_.burst_length) : chance(p_.burst)) {
      in_burst_ = true;
    } else {
      in_burst_ = false;
    }
    if (in_burst_ || chance(p_.loss)) {
      ++lost_;
      return;
    }
    std::vector<std::byte> bytes(wire::header_len(seg) + seg.payload.size());
    wire::encode(seg, src, dst, bytes);
    const int copies = chance(p_.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      Duration delay = p_.latency;
      if (chance(p_.reorder)) {
        delay += Duration{std::uniform_int_distribution<int>{1, 3000}(rng_)};
      }
      queue_.emplace(std::make_pair(now + delay, seq_++), Item{to_b, src, dst, bytes});
    }
  }
  [[nodiscard]] std::optional<Instant> next() const {
    if (queue_.empty()) { return std::nullopt; }
    return queue_.begin()->first.first;
  }
  template <class Deliver>
  void deliver_due(Instant now, Deliver&& deliver) {
    while (!queue_.empty() && queue_.begin()->first.first <= now) {
      const auto item = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      deliver(item.to_b, item.src, item.dst, item.bytes);
    }
  }
  [[nodiscard]] std::uint64_t sent() const { return sent_; }
  [[nodiscard]] std::uint64_t lost() const { return lost_; }

 private:
  struct Item {
    bool to_b;
    wire::Ipv4Addr src, dst;
    std::vector<std::byte> bytes;
  };
  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>{0, 1}(rng_) < p; }
  std::mt19937 rng_;
  LinkParams p_;
  std::map<std::pair<Instant, std::uint64_t>, Item> queue_;
  std::uint64_t seq_ = 0;
  bool in_burst_ = false;
  std::uint64_t sent_ = 0;
  std::uint64_t lost_ = 0;
};

struct Side final : Outbox {
  Side(LossyLink& l, bool a, Instant& n) : link{l}, is_a{a}, now{n} {}
  void send(const FourTuple& id, const wire::TcpSegment& seg) override {
    link.push(now, is_a, id.local_ip, id.remote_ip, seg);
  }
  LossyLink& link;
  bool is_a;
  Instant& now;
};

struct Result {
  std::size_t received = 0;
  std::size_t mismatches = 0;
  bool completed = false;
  Duration elapsed{};
  std::uint64_t link_sent = 0;
  std::uint64_t link_lost = 0;
  Stats a, b;
};

Result transfer(std::uint32_t seed, LinkParams p, std::size_t total, CcKind cc = CcKind::Cubic) {
  Config cfg;
  cfg.congestion_control = cc;
  cfg.msl = 1s;
  cfg.recv_buffer = 64 * 1024;
  cfg.send_buffer = 64 * 1024;
  Result r;
  FixedIsn isn_a{0xfffff000U};  // the sequence space wraps during the transfer
  FixedIsn isn_b{12345};
  Engine a{cfg, isn_a, r.a};
  Engine b{cfg, isn_b, r.b};
  LossyLink link{seed, p};
  Instant now{};
  Side out_a{link, true, now};
  Side out_b{link, false, now};
  SourceFactory source{total};
  SinkFactory sink;
  b.listen(now, kIpB, kPortB, sink);
  const FourTuple id_a{kIpB, kPortB, kIpA, kPortA};
  REQUIRE(a.connect(now, id_a, source, out_a) != nullptr);

  const Instant limit = now + 600s;
  while (now < limit) {
    std::optional<Instant> next = link.next();
    for (const auto d : {a.next_deadline(), b.next_deadline()}) {
      if (d && (!next || *d < *next)) { next = d; }
    }
    if (!next) { break; }  // nothing in flight, no timer armed: both sides are done
    now = std::max(now, *next);
    link.deliver_due(now, [&](bool to_b, wire::Ipv4Addr src, wire::Ipv4Addr dst,
                              const std::vector<std::byte>& bytes) {
      REQUIRE(wire::verify_tcp_checksum(bytes, src, dst));
      const auto view = wire::TcpView::parse(bytes);
      REQUIRE(view.has_value());
      const auto seg = wire::decode(*view);
      REQUIRE(seg.has_value());
      (to_b ? b : a).on_segment(now, src, dst, *seg, to_b ? static_cast<Outbox&>(out_b) : out_a);
    });
    a.on_timers(now, out_a);
    b.on_timers(now, out_b);
    // Invariants after every step (RFC 9293 §3.3.1): SND.UNA <= SND.NXT on both sides.
    if (const auto* c = a.find(id_a)) { REQUIRE(c->snd().una <= c->snd().nxt); }
  }
  if (sink.last != nullptr) {
    r.received = sink.last->received;
    r.mismatches = sink.last->mismatches;
    r.completed = sink.last->peer_closed;
  }
  r.elapsed = now - Instant{};
  r.link_sent = link.sent();
  r.link_lost = link.lost();
  r.completed = r.completed && a.connection_count() == 0 && b.connection_count() == 0;
  return r;
}

}  // namespace

TEST_SUITE("sim.lossy_transfer") {
  TEST_CASE("1 MiB over a clean link arrives intact and quickly") {
    const auto r = transfer(1, {}, 1 << 20);
    CHECK(r.completed);
    CHECK(r.received == (1U << 20));
    CHECK(r.mismatches == 0);
    CHECK(r.a.get(Counter::TcpRetransmits) == 0);
    CHECK(r.elapsed < 10s);  // virtual time, so this bound is deterministic
  }

  TEST_CASE("1 MiB arrives intact under loss, duplication and reordering, for a table of seeds") {
    struct Case {
      double loss, dup, reorder;
      Duration bound;
    };
    for (const Case k : {Case{0.01, 0, 0, 60s}, Case{0.05, 0, 0, 120s}, Case{0.10, 0, 0, 300s},
                         Case{0.02, 0.02, 0.05, 120s}, Case{0, 0.10, 0.20, 60s}}) {
      for (std::uint32_t seed : {1U, 2U, 3U, 4U}) {
        CAPTURE(seed);
        CAPTURE(k.loss);
        CAPTURE(k.dup);
        CAPTURE(k.reorder);
        const auto r =
            transfer(seed, {.loss = k.loss, .duplicate = k.dup, .reorder = k.reorder}, 1 << 20);
        CHECK(r.completed);
        CHECK(r.received == (1U << 20));
        CHECK(r.mismatches == 0);
        CHECK(r.elapsed < k.bound);
        CHECK(r.a.get(Counter::InternalBug) == 0);
        CHECK(r.b.get(Counter::InternalBug) == 0);
        if (k.loss > 0) { CHECK(r.a.get(Counter::TcpRetransmits) > 0); }
      }
    }
  }

  TEST_CASE(
      "every congestion control recovers from random, burst and reordering loss, "
      "mostly without timeouts") {
    struct Model {
      const char* name;
      LinkParams link;
    };
    const Model models[] = {
        {"1% random", {.loss = 0.01}},
        {"5% random", {.loss = 0.05}},
        {"bursts of 4 at 1%", {.burst = 0.0025, .burst_length = 4}},
        {"5% reordered by up to 3 ms", {.reorder = 0.05}},
    };
    for (const CcKind cc : {CcKind::Reno, CcKind::Cubic, CcKind::Bbr}) {
      for (const Model& m : models) {
        for (std::uint32_t seed = 1; seed <= 8; ++seed) {
          const std::string model{m.name};  // a string, so doctest prints the text
          const std::string algorithm{name(cc)};
          CAPTURE(algorithm);
          CAPTURE(model);
          CAPTURE(seed);
          const auto r = transfer(seed, m.link, 1 << 20, cc);
          CHECK(r.completed);
          CHECK(r.received == (1U << 20));
          CHECK(r.mismatches == 0);
          CHECK(r.a.get(Counter::InternalBug) == 0);
          // The sender's recovery repairs nine losses in ten without waiting for the RTO
          // (the kernel's is better still); two timeouts are allowed for the tail and the
          // handshake, whose SYNs and FINs have no SACK to tell of their loss.
          const std::uint64_t timeouts = r.a.get(Counter::TcpRetransmitTimeouts);
          CHECK(timeouts <= 2 + r.link_lost / 10);
          MESSAGE(algorithm, " ", model, " seed ", seed, ": ", r.link_lost, " lost of ",
                  r.link_sent, ", ", timeouts, " timeouts, ", r.a.get(Counter::TcpRetransmits),
                  " retransmissions, ", r.a.get(Counter::TcpSpuriousUndos), " undone, t=",
                  std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count(), "ms");
        }
      }
    }
  }
}

}  // namespace tapsrv::tcp
