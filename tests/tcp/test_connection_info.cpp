// Connection::info() (the figures `tapsrv status` shows) and the engine's connection walk, whose
// cursor must survive connections coming and going between its steps.
#include <doctest/doctest.h>

#include <string>

#include "support/tcp_peer.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

/// The peer ports of every connection a fresh walk visits, in order.
std::string walk_ports(const tcp::Engine& e) {
  std::string ports;
  auto cursor = e.walk();
  while (const auto* c = cursor->next()) { ports += std::to_string(c->id().remote_port) + " "; }
  return ports;
}
std::string rest_of(tcp::ConnectionCursor& cursor) {
  std::string ports;
  while (const auto* c = cursor.next()) { ports += std::to_string(c->id().remote_port) + " "; }
  return ports;
}

// test_config() allows 4 half-open connections; these tests hold more.
TcpPeer roomy() {
  auto cfg = test_config();
  cfg.syn_backlog = 16;
  return TcpPeer::listening(kPort, cfg);
}

void open_syn_received(TcpPeer& p, std::uint16_t port) {
  p.send(from_port(syn(kRemoteIss), port));
  p.take_all();
}

TEST_SUITE("tcp.connection_info") {
  TEST_CASE("info: state, options, ages and byte counts of an echo connection") {
    auto p = TcpPeer::listening(kPort, service::Kind::Echo);
    p.send(syn(kRemoteIss, {.wscale = 7, .sack = true, .ts = wire::Timestamps{100, 0}}));
    p.advance(10ms);
    const auto* c = p.conn();
    REQUIRE(c != nullptr);
    CHECK(c->info(p.now()).state == State::SynReceived);
    CHECK(c->info(p.now()).age == Duration{10ms});
    p.send(with_ts(ack(kPeerSeq, kOurSeq), 101, 0));
    p.advance(5ms);
    const std::string hello = "hello";
    const wire::Bytes bytes{reinterpret_cast<const std::byte*>(hello.data()), hello.size()};
    p.send(with_ts(data(kPeerSeq, kOurSeq, bytes), 102, 0));
    auto i = p.conn()->info(p.now());
    CHECK(i.state == State::Established);
    CHECK(i.id.remote_port == kPeerPort);
    CHECK(i.id.local_port == kPort);
    REQUIRE(i.wscale.has_value());
    CHECK(i.wscale->first == 7);
    CHECK(i.wscale->second == p.config().our_window_shift());
    CHECK(i.sack);
    CHECK(i.timestamps);
    CHECK_FALSE(i.ecn);
    CHECK(i.bytes_received == 5);
    CHECK(i.bytes_sent == 5);  // echoed at once
    CHECK(i.bytes_acked == 0);
    CHECK(i.send_q == 5);
    CHECK(i.age == Duration{15ms});
    CHECK(i.in_state == Duration{5ms});
    CHECK(i.ssthresh == 0x7fffffffU);  // Linux's TCP_INFINITE_SSTHRESH before any loss
    CHECK(i.cwnd > 0);
    p.send(with_ts(ack(kPeerSeq + 5, kOurSeq + 5), 103, 0));
    i = p.conn()->info(p.now());
    CHECK(i.bytes_acked == 5);
    CHECK(i.send_q == 0);
    CHECK(i.retransmits == 0);
  }

  TEST_CASE("info: no window scale when the SYN offers none; a timeout counts a retransmit") {
    auto p = TcpPeer::listening();
    p.send(syn(kRemoteIss));
    const auto i0 = p.conn()->info(p.now());
    CHECK_FALSE(i0.wscale.has_value());
    CHECK_FALSE(i0.sack);
    p.take_all();
    p.advance(1s);  // RFC 6298 (2.1): the SYN,ACK is sent again after 1 s
    CHECK(p.take_all().size() == 1);
    CHECK(p.conn()->info(p.now()).retransmits == 1);
  }

  TEST_CASE("walk: every connection once, in creation order") {
    auto p = roomy();
    for (std::uint16_t port = 1000; port < 1005; ++port) { open_syn_received(p, port); }
    CHECK(walk_ports(p.engine()) == "1000 1001 1002 1003 1004 ");
  }

  TEST_CASE("walk: connections removed or added between steps, two walks at once") {
    auto p = roomy();
    for (std::uint16_t port = 1000; port < 1006; ++port) { open_syn_received(p, port); }
    auto a = p.engine().walk();
    auto b = p.engine().walk();
    REQUIRE(a->next()->id().remote_port == 1000);
    REQUIRE(a->next()->id().remote_port == 1001);
    REQUIRE(b->next()->id().remote_port == 1000);
    // 1001 (where a stands), 1002 (next for a) and 1000 (b's) go; 1006 is new.
    for (std::uint16_t port : {1001, 1002, 1000}) {
      p.send(from_port(rst(kPeerSeq), port));
      REQUIRE(p.state(port) == State::Closed);
    }
    open_syn_received(p, 1006);
    CHECK(rest_of(*a) == "1003 1004 1005 1006 ");
    CHECK(rest_of(*b) == "1003 1004 1005 1006 ");
    CHECK(a->next() == nullptr);  // stays at the end
    a.reset();
    CHECK(walk_ports(p.engine()) == "1003 1004 1005 1006 ");
  }

  TEST_CASE("walk: an engine with no connections; a cursor whose next connection goes") {
    auto p = TcpPeer::listening();
    CHECK(walk_ports(p.engine()).empty());
    open_syn_received(p, 1000);
    auto a = p.engine().walk();
    p.send(from_port(rst(kPeerSeq), 1000));
    CHECK(a->next() == nullptr);
  }
}

}  // namespace
}  // namespace tapsrv::test
