// "No heap allocation per packet": once a connection is up and its buffers have grown, echo
// round trips and bulk segments through the whole stack allocate nothing, with and without
// offload. Counted by the replaced operator new of this binary.
#include <doctest/doctest.h>

#include "alloc/counting_new.hpp"
#include "support/stack_harness.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/wire/tcp.hpp"

namespace tapsrv::test {
namespace {

constexpr std::uint16_t kEchoPort = 3333;
constexpr std::uint16_t kClientPort = 40000;
constexpr std::size_t kTcpStart = wire::kEthHeaderLen + wire::kIpv4MinHeaderLen;

/// A client that talks to the stack through frames and acknowledges whatever comes back.
struct Client {
  explicit Client(bool offload) : h{config(offload)} {
    h.stack.listen(h.now, kEchoPort, *echo);
    h.learn(kPeerIp, kPeerMac);
    send(wire::TcpFlags::kSyn, {});
    const auto synack = h.drain();
    REQUIRE(synack.size() == 1);
    server_next = parse(synack[0]).seq.raw + 1;
    ++next;
    send(wire::TcpFlags::kAck, {});
  }
  static StackConfig config(bool offload) {
    auto c = default_stack_config();
    c.offload = offload;
    return c;
  }
  wire::TcpSegment parse(const Buffer& frame) {
    const auto view = wire::TcpView::parse(wire::Bytes{frame}.subspan(kTcpStart));
    REQUIRE(view.has_value());
    const auto seg = wire::decode(*view);
    REQUIRE(seg.has_value());
    return *seg;
  }
  void send(std::uint8_t flags, wire::Bytes payload) {
    wire::TcpSegment s{.src_port = kClientPort,
                       .dst_port = kEchoPort,
                       .seq = wire::SeqNum{next},
                       .ack = wire::SeqNum{server_next},
                       .flags = wire::TcpFlags{flags},
                       .window = 65535,
                       .payload = payload};
    if ((flags & wire::TcpFlags::kSyn) != 0) { s.options.mss = 1460; }
    if ((flags & wire::TcpFlags::kAck) == 0) { s.ack = wire::SeqNum{0}; }
    frame.resize(wire::header_len(s) + payload.size());
    wire::encode(s, kPeerIp, kOurIp, frame);
    Ipv4Spec ip;
    ip.protocol = wire::ip_proto::kTcp;
    const Buffer f = ipv4_frame(ip, frame);  // building it allocates; the stack must not
    const std::size_t before = g_allocations;
    h.receive(f);
    in_stack += g_allocations - before;
    next += static_cast<std::uint32_t>(payload.size());
  }
  /// Takes what the stack sent and acknowledges it, until our ACKs release nothing more;
  /// returns the payload bytes taken.
  std::size_t take_and_ack() {
    std::size_t bytes = 0;
    for (bool more = true; more;) {
      more = false;
      auto& tx = h.stack.tx();
      for (std::size_t i = 0; i < tx.size(); ++i) {
        const auto view = wire::TcpView::parse(tx[i].subspan(kTcpStart));
        const auto seg = wire::decode(*view);
        const auto len = static_cast<std::uint32_t>(view->payload().size());
        bytes += len;
        more = more || len != 0;
        if (wire::SeqNum{server_next} < seg->seq + len) { server_next = seg->seq.raw + len; }
      }
      tx.clear();
      if (more) { send(wire::TcpFlags::kAck, {}); }
    }
    return bytes;
  }
  /// One request; returns the bytes the stack sent back meanwhile (the echo is a stream: Nagle
  /// may hold a piece until the next ACK).
  std::size_t round_trip(wire::Bytes request) {
    send(wire::TcpFlags::kAck | wire::TcpFlags::kPsh, request);
    run_timers(std::chrono::milliseconds{1});
    return take_and_ack();
  }
  void run_timers(Duration step) {
    h.now += step;
    const std::size_t before = g_allocations;
    h.stack.on_timers(h.now);
    in_stack += g_allocations - before;
  }
  /// Lets timers run until everything queued has come back.
  std::size_t drain() {
    std::size_t bytes = 0;
    for (int i = 0; i < 20; ++i) {
      run_timers(std::chrono::milliseconds{50});
      bytes += take_and_ack();
    }
    return bytes;
  }

  StackHarness h;
  std::unique_ptr<tcp::HandlerFactory> echo = service::make_factory(service::Kind::Echo);
  std::uint32_t next = 5000;
  std::uint32_t server_next = 0;
  Buffer frame;
  std::size_t in_stack = 0;  // allocations made inside the stack's calls
};

/// Allocations the stack made during `rounds` round trips of `size` bytes.
std::size_t stack_allocations(Client& c, std::size_t size, int rounds) {
  const Buffer request = pattern(size);
  const std::size_t before = c.in_stack;
  std::size_t echoed = 0;
  for (int i = 0; i < rounds; ++i) { echoed += c.round_trip(request); }
  echoed += c.drain();
  CHECK(echoed == size * static_cast<std::size_t>(rounds));
  return c.in_stack - before;
}

TEST_SUITE("alloc") {
  TEST_CASE("echo round trips allocate nothing once warm, offload off and on") {
    for (const bool offload : {false, true}) {
      CAPTURE(offload);
      Client c{offload};
      // Warm-up: buffers grow and queues reach their size (which shows the counting works).
      CHECK(stack_allocations(c, 1000, 50) > 0);
      CHECK(stack_allocations(c, 1000, 500) == 0);
      CHECK(stack_allocations(c, 1, 500) == 0);
    }
  }
}

}  // namespace
}  // namespace tapsrv::test
