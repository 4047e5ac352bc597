// A TCP peer in virtual time: drives one tcp::Engine (not the Stack) with crafted segments on a
// fake clock and records everything the engine sends and every state change (STYLE.md §7).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/frames.hpp"
#include "support/source_loc.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/core/time.hpp"
#include "tapsrv/service/services.hpp"
#include "tapsrv/tcp/config.hpp"
#include "tapsrv/tcp/connection.hpp"
#include "tapsrv/tcp/engine.hpp"
#include "tapsrv/tcp/handler.hpp"
#include "tapsrv/tcp/isn.hpp"
#include "tapsrv/tcp/outbox.hpp"
#include "tapsrv/tcp/state.hpp"
#include "tapsrv/wire/tcp.hpp"

template <>
struct doctest::StringMaker<tapsrv::tcp::State> {
  static doctest::String convert(tapsrv::tcp::State s);
};
template <>
struct doctest::StringMaker<tapsrv::wire::SeqNum> {
  static doctest::String convert(tapsrv::wire::SeqNum s);
};

namespace tapsrv::test {

using namespace std::chrono_literals;

// Sequence numbers as plain integers: tests write `kRemoteIss + 1`, the harness converts.
inline constexpr std::uint32_t kLocalIss = 10000;          // FixedIsn: our ISS
inline constexpr std::uint32_t kRemoteIss = 5000;          // the peer's ISS
inline constexpr std::uint32_t kOurSeq = kLocalIss + 1;    // our first data byte
inline constexpr std::uint32_t kPeerSeq = kRemoteIss + 1;  // the peer's first data byte
inline constexpr std::uint16_t kPort = 8080;               // our listening port
inline constexpr std::uint16_t kPeerPort = 40000;          // the connection under test
inline constexpr std::uint16_t kPeerWindow = 65535;        // what the peer offers by default
inline constexpr std::uint16_t kMss = 1460;                // ours at MTU 1500

inline constexpr std::uint8_t kFin = wire::TcpFlags::kFin;
inline constexpr std::uint8_t kSyn = wire::TcpFlags::kSyn;
inline constexpr std::uint8_t kRst = wire::TcpFlags::kRst;
inline constexpr std::uint8_t kPsh = wire::TcpFlags::kPsh;
inline constexpr std::uint8_t kAck = wire::TcpFlags::kAck;

/// Short, explicit timers and small buffers; every number a test relies on is spelled out here.
tcp::Config test_config();

// --- Segment builders: from the peer (kPeerIp:kPeerPort) to us (kOurIp:kPort) -------------
struct SynOptions {
  std::optional<std::uint16_t> mss = kMss;
  std::optional<std::uint8_t> wscale{};
  bool sack = false;
  std::optional<wire::Timestamps> ts{};
};
/// Any segment; the payload is borrowed, so it must outlive the send().
wire::TcpSegment segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                         std::uint16_t window = kPeerWindow, wire::Bytes payload = {});
wire::TcpSegment syn(std::uint32_t iss, const SynOptions& o = {});
wire::TcpSegment ack(std::uint32_t seq, std::uint32_t ack, std::uint16_t window = kPeerWindow);
/// ACK|PSH carrying `bytes` (borrowed).
wire::TcpSegment data(std::uint32_t seq, std::uint32_t ack, wire::Bytes bytes,
                      std::uint16_t window = kPeerWindow);
wire::TcpSegment fin(std::uint32_t seq, std::uint32_t ack, std::uint16_t window = kPeerWindow);
/// A bare RST (no ACK bit), as a blind attacker or a peer answering our challenge sends it.
wire::TcpSegment rst(std::uint32_t seq);
/// The same segment from another source port (another connection).
wire::TcpSegment from_port(wire::TcpSegment s, std::uint16_t port);
/// The same segment with a timestamps option.
wire::TcpSegment with_ts(wire::TcpSegment s, std::uint32_t value, std::uint32_t echo);

// --- What the engine sent --------------------------------------------------------------------
struct Sent {
  tcp::FourTuple id;
  wire::TcpSegment seg;  // payload cleared: the bytes live in `payload`
  Buffer payload;        // empty when the outbox keeps no payloads (TcpPeer::keep_payloads)
  std::size_t len = 0;   // of the payload sent
  Instant at;
  [[nodiscard]] std::uint8_t flags() const noexcept { return seg.flags.bits; }
  [[nodiscard]] std::uint32_t seq() const noexcept { return seg.seq.raw; }
  [[nodiscard]] std::uint32_t ack() const noexcept { return seg.ack.raw; }
  [[nodiscard]] std::string text() const;  // "[ACK|PSH] seq=10001 ack=5006 win=16384 len=5"
};
std::string flag_names(std::uint8_t flags);

/// Unset fields are "don't care" (packetimpact). `window` is the field as on the wire (unscaled),
/// `len` the payload length, `to_port` the peer port the segment is addressed to.
struct SegMatch {
  std::optional<std::uint8_t> flags{};
  std::optional<std::uint32_t> seq{};
  std::optional<std::uint32_t> ack{};
  std::optional<std::uint16_t> window{};
  std::optional<std::size_t> len{};
  std::optional<std::uint16_t> to_port{};
};

class RecordingOutbox final : public tcp::Outbox {
 public:
  explicit RecordingOutbox(const Instant& now) : now_{now} {}
  void send(const tcp::FourTuple& id, const wire::TcpSegment& seg) override;
  std::deque<Sent> queue;
  std::size_t total = 0;
  bool keep_payloads = true;

 private:
  const Instant& now_;
};

class RecordingTcpObserver final : public tcp::Observer {
 public:
  struct Transition {
    tcp::FourTuple id;
    tcp::State from;
    tcp::State to;
    tcp::Cause cause;
  };
  void on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to, tcp::Cause cause,
                     const wire::TcpSegment* seg) override;
  void on_segment(const tcp::FourTuple& id, bool outgoing, const wire::TcpSegment& seg) override;
  [[nodiscard]] bool wants_segments() const noexcept override { return true; }

  std::vector<Transition> transitions;
  std::size_t segments_in = 0;
  std::size_t segments_out = 0;
  std::size_t bad_cause_pointer = 0;  // a Segment cause without its segment, or the reverse
};
std::string_view cause_name(tcp::Cause c);

/// The application of the TestApp service: one shared script for every connection it serves.
struct TestApp {
  bool auto_read = true;           // consume (and record) everything readable
  bool close_on_peer_fin = false;  // close once the peer's FIN has been read
  bool close_after_write = false;  // close once `to_write` is all queued (now, if empty)
  Buffer to_write;                 // written, as room allows, from every callback
  Buffer received;
  std::string log;  // "established readable writable closed", space separated
  // Extra behaviour, run after the defaults above.
  std::function<void(tcp::Connection&)> on_readable;
  std::function<void(tcp::Connection&)> on_writable;
  /// Reads everything readable into `received`.
  void read_all(tcp::Connection& c);
  void pump(tcp::Connection& c);
};

class TestAppFactory final : public tcp::HandlerFactory {
 public:
  explicit TestAppFactory(TestApp& app) : app_{app} {}
  std::unique_ptr<tcp::ConnectionHandler> make(const tcp::FourTuple& id) override;

 private:
  TestApp& app_;
};

/// A virtual-time peer of one Engine. Movable (the engine and what it references live on the
/// heap), so the state drivers below can return it.
class TcpPeer {
 public:
  explicit TcpPeer(const tcp::Config& cfg = test_config(), std::uint32_t local_iss = kLocalIss);
  TcpPeer(TcpPeer&&) noexcept;
  TcpPeer& operator=(TcpPeer&&) noexcept;
  ~TcpPeer();

  /// CLOSED -> LISTEN on kOurIp:port with a service, or with the TestApp.
  static TcpPeer listening(std::uint16_t port, service::Kind kind,
                           const tcp::Config& cfg = test_config());
  static TcpPeer listening(std::uint16_t port = kPort, const tcp::Config& cfg = test_config());
  void listen(std::uint16_t port, service::Kind kind);
  void listen(std::uint16_t port = kPort);
  /// Active open (RFC 9293 §3.10.1) from kOurIp:kPort to kPeerIp:`peer_port`, served by the
  /// TestApp: the SYN is left for expect(). Null when the engine refused it.
  tcp::Connection* connect(std::uint16_t peer_port = kPeerPort);

  // --- State drivers: each sends segments, expects our answers, then mark()s. -------------
  /// SYN (with `o`), expect SYN-ACK, then the final ACK with `window` (unscaled on the wire).
  void handshake(const SynOptions& o = {}, std::uint16_t window = kPeerWindow,
                 std::uint32_t remote_iss = kRemoteIss);
  static TcpPeer established(const tcp::Config& cfg = test_config());
  /// The peer has closed; the TestApp does not close.
  static TcpPeer close_wait();
  /// The TestApp closes as soon as the connection is up; our FIN is not yet acknowledged.
  static TcpPeer fin_wait_1();
  static TcpPeer fin_wait_2();
  static TcpPeer closing();
  static TcpPeer time_wait();
  /// The peer closed and the TestApp closed in reply; our FIN is not yet acknowledged.
  static TcpPeer last_ack();

  // --- Driving ------------------------------------------------------------------------------
  /// One segment from kPeerIp (its source port picks the connection) to kOurIp.
  void send(const wire::TcpSegment& s);
  /// Moves the clock by `d`, stopping at every deadline on the way like the event loop does,
  /// and runs the timers at each.
  void advance(Duration d);

  /// Takes the oldest segment we sent and checks it against `m`.
  Sent expect(const SegMatch& m, SourceLoc loc = SourceLoc::current());
  void expect_nothing(SourceLoc loc = SourceLoc::current());
  /// Every segment not yet taken, oldest first.
  std::vector<Sent> take_all();
  /// Whether what we send keeps a copy of its payload (Sent::len is always set); off for
  /// transfers of gigabytes.
  void keep_payloads(bool on);
  [[nodiscard]] std::size_t pending() const;

  // --- Looking ------------------------------------------------------------------------------
  /// The connection from `peer_port`; CLOSED when there is none (also after SYN_RECEIVED fell
  /// back to LISTEN: the listener remains, the connection is gone).
  [[nodiscard]] tcp::State state(std::uint16_t peer_port = kPeerPort) const;
  [[nodiscard]] const tcp::Connection* conn(std::uint16_t peer_port = kPeerPort) const;
  /// Starts a new baseline for drops() and events().
  void mark();
  /// Drop and counter changes since mark(), e.g. "tcp_out_of_window+1" ("" when none).
  [[nodiscard]] std::string drops() const;
  [[nodiscard]] std::string events() const;
  /// Every transition since construction, e.g. "CLOSED->LISTEN(listen) LISTEN->SYN_RECEIVED
  /// (segment)", space separated.
  [[nodiscard]] std::string transitions() const;
  /// Checks what must hold after any step (see the definition); used by the randomized tests.
  void check_invariants(SourceLoc loc = SourceLoc::current()) const;

  [[nodiscard]] Instant now() const;
  [[nodiscard]] Duration elapsed() const { return now() - Instant{}; }
  [[nodiscard]] TestApp& app();
  [[nodiscard]] tcp::Engine& engine();
  [[nodiscard]] const Stats& stats() const;
  [[nodiscard]] const tcp::Config& config() const;
  [[nodiscard]] RecordingTcpObserver& observer();

 private:
  struct World;
  std::unique_ptr<World> w_;
};

}  // namespace tapsrv::test
