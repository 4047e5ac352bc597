#include "support/tcp_peer.hpp"

#include <algorithm>
#include <set>
#include <sstream>

doctest::String doctest::StringMaker<tapsrv::tcp::State>::convert(tapsrv::tcp::State s) {
  const auto n = tapsrv::tcp::name(s);
  return doctest::String{n.data(), static_cast<doctest::String::size_type>(n.size())};
}

doctest::String doctest::StringMaker<tapsrv::wire::SeqNum>::convert(tapsrv::wire::SeqNum s) {
  return doctest::toString(s.raw);
}

namespace tapsrv::test {

tcp::Config test_config() {
  tcp::Config c;
  c.mtu = 1500;  // our MSS 1460
  c.recv_buffer = 16384;
  c.send_buffer = 16384;
  c.send_buffer_autotune = false;  // a fixed buffer, as --sndbuf gives; tcp.autotune tests growth
  c.msl = 500ms;                   // TIME_WAIT lasts 1 s
  c.rto_initial = 1s;
  c.rto_min = 200ms;
  c.rto_max = 10s;
  c.max_retransmits = 3;
  c.max_synack_retransmits = 3;
  c.fin_wait2_timeout = 3s;
  c.delayed_ack = 40ms;
  c.idle_buffer_sweep = 1s;  // tcp.idle_buffers counts on it
  c.max_connections = 8;
  c.syn_backlog = 4;
  c.initial_cwnd_segments = 10;
  c.window_scaling = true;
  c.timestamps = true;
  c.sack = true;
  c.nagle = true;
  return c;
}

wire::TcpSegment segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack,
                         std::uint16_t window, wire::Bytes payload) {
  wire::TcpSegment s;
  s.src_port = kPeerPort;
  s.dst_port = kPort;
  s.seq = wire::SeqNum{seq};
  s.ack = wire::SeqNum{(flags & kAck) != 0 ? ack : 0};
  s.flags = wire::TcpFlags{flags};
  s.window = window;
  s.payload = payload;
  return s;
}

wire::TcpSegment syn(std::uint32_t iss, const SynOptions& o) {
  auto s = segment(kSyn, iss, 0, kPeerWindow);
  s.options.mss = o.mss;
  s.options.window_scale = o.wscale;
  s.options.sack_permitted = o.sack;
  s.options.timestamps = o.ts;
  return s;
}

wire::TcpSegment ack(std::uint32_t seq, std::uint32_t ack, std::uint16_t window) {
  return segment(kAck, seq, ack, window);
}

wire::TcpSegment data(std::uint32_t seq, std::uint32_t ack, wire::Bytes bytes,
                      std::uint16_t window) {
  return segment(kAck | kPsh, seq, ack, window, bytes);
}

wire::TcpSegment fin(std::uint32_t seq, std::uint32_t ack, std::uint16_t window) {
  return segment(kFin | kAck, seq, ack, window);
}

wire::TcpSegment rst(std::uint32_t seq) { return segment(kRst, seq, 0, 0); }

wire::TcpSegment from_port(wire::TcpSegment s, std::uint16_t port) {
  s.src_port = port;
  return s;
}

wire::TcpSegment with_ts(wire::TcpSegment s, std::uint32_t value, std::uint32_t echo) {
  s.options.timestamps = wire::Timestamps{value, echo};
  return s;
}

std::string flag_names(std::uint8_t flags) {
  static constexpr std::pair<std::uint8_t, const char*> kNames[] = {
      {kSyn, "SYN"}, {kRst, "RST"}, {kAck, "ACK"}, {kPsh, "PSH"}, {kFin, "FIN"}};
  std::string out;
  for (const auto& [bit, n] : kNames) {
    if ((flags & bit) == 0) { continue; }
    if (!out.empty()) { out += '|'; }
    out += n;
  }
  const auto known = static_cast<std::uint8_t>(kSyn | kRst | kAck | kPsh | kFin);
  if ((flags & ~known) != 0) { out += "|0x" + std::to_string(flags & ~known); }
  return out.empty() ? "none" : out;
}

std::string Sent::text() const {
  std::ostringstream os;
  os << '[' << flag_names(flags()) << "] seq=" << seq() << " ack=" << ack() << " win=" << seg.window
     << " len=" << len << " to port " << id.remote_port;
  return os.str();
}

void RecordingOutbox::send(const tcp::FourTuple& id, const wire::TcpSegment& seg) {
  Sent s{.id = id, .seg = seg, .payload = {}, .len = seg.payload.size(), .at = now_};
  if (keep_payloads) { s.payload.assign(seg.payload.begin(), seg.payload.end()); }
  s.seg.payload = {};
  queue.push_back(std::move(s));
  ++total;
}

std::string_view cause_name(tcp::Cause c) {
  switch (c) {
    case tcp::Cause::Segment: return "segment";
    case tcp::Cause::Listen: return "listen";
    case tcp::Cause::Connect: return "connect";
    case tcp::Cause::AppClose: return "app_close";
    case tcp::Cause::Timeout: return "timeout";
    case tcp::Cause::Retransmit: return "retransmit";
    case tcp::Cause::Shutdown: return "shutdown";
    case tcp::Cause::SynCookie: return "syn_cookie";
    case tcp::Cause::Recycled: return "recycled";
  }
  return "?";
}

void RecordingTcpObserver::on_transition(const tcp::FourTuple& id, tcp::State from, tcp::State to,
                                         tcp::Cause cause, const wire::TcpSegment* seg) {
  if ((cause == tcp::Cause::Segment) != (seg != nullptr)) { ++bad_cause_pointer; }
  transitions.push_back({id, from, to, cause});
}

void RecordingTcpObserver::on_segment(const tcp::FourTuple& /*id*/, bool outgoing,
                                      const wire::TcpSegment& /*seg*/) {
  ++(outgoing ? segments_out : segments_in);
}

void TestApp::read_all(tcp::Connection& c) {
  while (c.readable() > 0) {
    const auto chunk = c.peek(c.readable());
    received.insert(received.end(), chunk.begin(), chunk.end());
    c.consume(chunk.size());
  }
}

void TestApp::pump(tcp::Connection& c) {
  if (!to_write.empty()) {
    const std::size_t n = c.write(to_write);
    to_write.erase(to_write.begin(), to_write.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (close_after_write && to_write.empty()) { c.close(); }
  if (auto_read) { read_all(c); }
  if (close_on_peer_fin && c.peer_closed()) { c.close(); }
}

namespace {

class TestAppHandler final : public tcp::ConnectionHandler {
 public:
  explicit TestAppHandler(TestApp& app) : app_{app} {}
  void on_established(tcp::Connection& c) override {
    note("established");
    app_.pump(c);
  }
  void on_readable(tcp::Connection& c) override {
    note("readable");
    app_.pump(c);
    if (app_.on_readable) { app_.on_readable(c); }
  }
  void on_writable(tcp::Connection& c) override {
    note("writable");
    app_.pump(c);
    if (app_.on_writable) { app_.on_writable(c); }
  }
  void on_closed(tcp::Connection& /*c*/) override { note("closed"); }

 private:
  void note(const char* what) {
    if (!app_.log.empty()) { app_.log += ' '; }
    app_.log += what;
  }
  TestApp& app_;
};

}  // namespace

std::unique_ptr<tcp::ConnectionHandler> TestAppFactory::make(const tcp::FourTuple& /*id*/) {
  return std::make_unique<TestAppHandler>(app_);
}

struct TcpPeer::World {
  World(const tcp::Config& c, std::uint32_t iss)
      : cfg{c}, isn{iss}, engine{cfg, isn, stats, obs}, outbox{now} {}
  tcp::Config cfg;
  Stats stats;
  Stats baseline;
  RecordingTcpObserver obs;
  tcp::FixedIsn isn;
  tcp::Engine engine;
  Instant now{};
  RecordingOutbox outbox;
  TestApp app;
  TestAppFactory app_factory{app};
  std::vector<std::unique_ptr<tcp::HandlerFactory>> factories;
  std::set<std::uint16_t> peer_ports;
};

TcpPeer::TcpPeer(const tcp::Config& cfg, std::uint32_t local_iss)
    : w_{std::make_unique<World>(cfg, local_iss)} {}
TcpPeer::TcpPeer(TcpPeer&&) noexcept = default;
TcpPeer& TcpPeer::operator=(TcpPeer&&) noexcept = default;
TcpPeer::~TcpPeer() = default;

TcpPeer TcpPeer::listening(std::uint16_t port, service::Kind kind, const tcp::Config& cfg) {
  TcpPeer p{cfg};
  p.listen(port, kind);
  return p;
}

TcpPeer TcpPeer::listening(std::uint16_t port, const tcp::Config& cfg) {
  TcpPeer p{cfg};
  p.listen(port);
  return p;
}

void TcpPeer::listen(std::uint16_t port, service::Kind kind) {
  w_->factories.push_back(service::make_factory(kind));
  w_->engine.listen(w_->now, kOurIp, port, *w_->factories.back());
}

void TcpPeer::listen(std::uint16_t port) {
  w_->engine.listen(w_->now, kOurIp, port, w_->app_factory);
}

tcp::Connection* TcpPeer::connect(std::uint16_t peer_port) {
  w_->peer_ports.insert(peer_port);
  return w_->engine.connect(w_->now, tcp::FourTuple{kPeerIp, peer_port, kOurIp, kPort},
                            w_->app_factory, w_->outbox);
}

void TcpPeer::handshake(const SynOptions& o, std::uint16_t window, std::uint32_t remote_iss) {
  send(syn(remote_iss, o));
  expect({.flags = kSyn | kAck, .seq = w_->isn.isn({}, {}).raw, .ack = remote_iss + 1});
  auto a = ack(remote_iss + 1, w_->isn.isn({}, {}).raw + 1, window);
  if (o.ts) { a.options.timestamps = wire::Timestamps{o.ts->value, w_->isn.isn({}, {}).raw}; }
  send(a);
  // ESTABLISHED, or already past it when the TestApp closes at once.
  CHECK(conn() != nullptr);
  CHECK(state() != tcp::State::SynReceived);
  mark();
}

TcpPeer TcpPeer::established(const tcp::Config& cfg) {
  TcpPeer p = listening(kPort, cfg);
  p.handshake();
  return p;
}

TcpPeer TcpPeer::close_wait() {
  TcpPeer p = established();
  p.send(fin(kPeerSeq, kOurSeq));
  p.expect({.flags = kAck, .seq = kOurSeq, .ack = kPeerSeq + 1});
  CHECK(p.state() == tcp::State::CloseWait);
  p.mark();
  return p;
}

TcpPeer TcpPeer::fin_wait_1() {
  TcpPeer p = listening();
  p.app().close_after_write = true;
  p.handshake();
  p.expect({.flags = kAck | kFin, .seq = kOurSeq, .ack = kPeerSeq});
  CHECK(p.state() == tcp::State::FinWait1);
  p.mark();
  return p;
}

TcpPeer TcpPeer::fin_wait_2() {
  TcpPeer p = fin_wait_1();
  p.send(ack(kPeerSeq, kOurSeq + 1));
  CHECK(p.state() == tcp::State::FinWait2);
  p.expect_nothing();
  p.mark();
  return p;
}

TcpPeer TcpPeer::closing() {
  TcpPeer p = fin_wait_1();
  p.send(fin(kPeerSeq, kOurSeq));  // crosses our FIN: it does not acknowledge it
  p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
  CHECK(p.state() == tcp::State::Closing);
  p.mark();
  return p;
}

TcpPeer TcpPeer::time_wait() {
  TcpPeer p = fin_wait_2();
  p.send(fin(kPeerSeq, kOurSeq + 1));
  p.expect({.flags = kAck, .seq = kOurSeq + 1, .ack = kPeerSeq + 1});
  CHECK(p.state() == tcp::State::TimeWait);
  p.mark();
  return p;
}

TcpPeer TcpPeer::last_ack() {
  TcpPeer p = listening();
  p.app().close_on_peer_fin = true;
  p.handshake();
  p.send(fin(kPeerSeq, kOurSeq));
  p.expect({.flags = kAck | kFin, .seq = kOurSeq, .ack = kPeerSeq + 1});
  CHECK(p.state() == tcp::State::LastAck);
  p.mark();
  return p;
}

void TcpPeer::send(const wire::TcpSegment& s) {
  w_->peer_ports.insert(s.src_port);
  w_->engine.on_segment(w_->now, kPeerIp, kOurIp, s, w_->outbox);
}

void TcpPeer::advance(Duration d) {
  const Instant target = w_->now + d;
  while (const auto deadline = w_->engine.next_deadline()) {
    if (*deadline > target) { break; }
    w_->now = std::max(w_->now, *deadline);
    w_->engine.on_timers(w_->now, w_->outbox);
    if (const auto next = w_->engine.next_deadline(); next && *next <= w_->now) {
      FAIL_CHECK("next_deadline() is not after now once on_timers() ran: ",
                 (*next - Instant{}).count(), "us <= ", (w_->now - Instant{}).count(), "us");
      break;
    }
  }
  w_->now = target;
  w_->engine.on_timers(w_->now, w_->outbox);
}

namespace {

template <class T>
void compare(std::string& diff, const char* field, const std::optional<T>& want, T got) {
  if (!want || *want == got) { return; }
  diff += std::string{" "} + field + ": got " + std::to_string(got) + " want " +
          std::to_string(*want) + ";";
}

}  // namespace

Sent TcpPeer::expect(const SegMatch& m, SourceLoc loc) {
  INFO("expect() at ", std::string{loc.file_name()}, ":", loc.line(), ", t=", elapsed().count(),
       "us");
  auto& q = w_->outbox.queue;
  if (q.empty()) {
    CHECK_MESSAGE(false, "expected a segment, but nothing was sent");
    return Sent{};
  }
  Sent s = std::move(q.front());
  q.pop_front();
  std::string diff;
  if (m.flags && *m.flags != s.flags()) {
    diff += " flags: got " + flag_names(s.flags()) + " want " + flag_names(*m.flags) + ";";
  }
  compare(diff, "seq", m.seq, s.seq());
  compare(diff, "ack", m.ack, s.ack());
  compare(diff, "window", m.window, s.seg.window);
  compare(diff, "len", m.len, s.len);
  compare(diff, "to_port", m.to_port, s.id.remote_port);
  CHECK_MESSAGE(diff.empty(), "segment ", s.text(), " differs:", diff);
  return s;
}

void TcpPeer::expect_nothing(SourceLoc loc) {
  INFO("expect_nothing() at ", std::string{loc.file_name()}, ":", loc.line(),
       ", t=", elapsed().count(), "us");
  std::string extra;
  for (const auto& s : w_->outbox.queue) { extra += "\n  " + s.text(); }
  CHECK_MESSAGE(w_->outbox.queue.empty(), "unexpected segments:", extra);
  w_->outbox.queue.clear();
}

std::vector<Sent> TcpPeer::take_all() {
  std::vector<Sent> out(std::make_move_iterator(w_->outbox.queue.begin()),
                        std::make_move_iterator(w_->outbox.queue.end()));
  w_->outbox.queue.clear();
  return out;
}

void TcpPeer::keep_payloads(bool on) { w_->outbox.keep_payloads = on; }

std::size_t TcpPeer::pending() const { return w_->outbox.queue.size(); }

const tcp::Connection* TcpPeer::conn(std::uint16_t peer_port) const {
  return w_->engine.find(tcp::FourTuple{kPeerIp, peer_port, kOurIp, kPort});
}

tcp::State TcpPeer::state(std::uint16_t peer_port) const {
  const auto* c = conn(peer_port);
  if (c != nullptr) { return c->state(); }
  // TIME_WAIT is a record, not a connection (tcp/time_wait.hpp).
  return w_->engine.time_wait_record(tcp::FourTuple{kPeerIp, peer_port, kOurIp, kPort}) != nullptr
             ? tcp::State::TimeWait
             : tcp::State::Closed;
}

void TcpPeer::mark() { w_->baseline = w_->stats; }
std::string TcpPeer::drops() const { return drops_between(w_->baseline, w_->stats); }
std::string TcpPeer::events() const { return events_between(w_->baseline, w_->stats); }

std::string TcpPeer::transitions() const {
  std::string out;
  for (const auto& t : w_->obs.transitions) {
    if (!out.empty()) { out += ' '; }
    out += std::string{tcp::name(t.from)} + "->" + std::string{tcp::name(t.to)} + "(" +
           std::string{cause_name(t.cause)} + ")";
  }
  return out;
}

void TcpPeer::check_invariants(SourceLoc loc) const {
  INFO("check_invariants() at ", std::string{loc.file_name()}, ":", loc.line(),
       ", t=", elapsed().count(), "us");
  const auto& cfg = w_->cfg;
  for (const std::uint16_t port : w_->peer_ports) {
    const auto* c = conn(port);
    if (c == nullptr) { continue; }
    CAPTURE(port);
    CHECK(c->state() != tcp::State::Closed);
    CHECK(c->state() != tcp::State::Listen);
    CHECK(c->snd().una <= c->snd().nxt);
    CHECK(c->send_buffered() <= cfg.send_buffer);
    CHECK(c->recv_buffered() <= cfg.recv_buffer);
    // The window we advertised never promises more room than the ring has left.
    const std::int32_t promised = c->rcv().adv_right - c->rcv().nxt;
    CHECK(promised >= 0);
    CHECK(c->recv_buffered() + static_cast<std::size_t>(std::max(promised, 0)) <= cfg.recv_buffer);
    CHECK(c->mss() <= cfg.our_mss());
  }
  const auto deadline = w_->engine.next_deadline();
  CHECK_MESSAGE((!deadline || *deadline > w_->now),
                "a timer is overdue: ", deadline ? (*deadline - Instant{}).count() : 0, "us");
  CHECK(w_->outbox.total == w_->stats.get(Counter::TcpSegmentsOut));
  CHECK(w_->obs.segments_out == w_->outbox.total);
  CHECK(w_->obs.bad_cause_pointer == 0);
  CHECK(w_->stats.get(Drop::InternalBug) == 0);
}

Instant TcpPeer::now() const { return w_->now; }
TestApp& TcpPeer::app() { return w_->app; }
tcp::Engine& TcpPeer::engine() { return w_->engine; }
const Stats& TcpPeer::stats() const { return w_->stats; }
const tcp::Config& TcpPeer::config() const { return w_->cfg; }
RecordingTcpObserver& TcpPeer::observer() { return w_->obs; }

}  // namespace tapsrv::test
