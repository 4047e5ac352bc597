#include "app/control_server.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "app/stats_format.hpp"

namespace tapsrv::app {
namespace {

constexpr std::size_t kMaxRequest = 256;

}  // namespace

struct ControlServer::Client {
  io::UniqueFd fd;
  std::string in;
  std::string out;
  std::size_t sent = 0;  // bytes of `out` already written
  bool answering = false;
  bool closing = false;  // once `out` is written, close
  std::optional<tcp::State> filter;
  std::unique_ptr<tcp::ConnectionCursor> cursor;  // a status walk in progress
  StateCounts counts{};
  [[nodiscard]] std::size_t unsent() const noexcept { return out.size() - sent; }
  void fail(std::string_view message) {
    cursor.reset();
    out += fmt::format("error {}\n", message);
    answering = true;
    closing = true;
  }
};

ControlServer::ControlServer(io::ControlListener listener, const tcp::Engine& engine,
                             const Stats& stats, ControlIdentity identity, gid_t group)
    : listener_{std::move(listener)},
      engine_{engine},
      stats_{stats},
      identity_{std::move(identity)},
      group_{group} {}

ControlServer::~ControlServer() = default;

void ControlServer::add_poll_fds(std::vector<pollfd>& fds) const {
  fds.push_back({.fd = listener_.fd(), .events = POLLIN, .revents = 0});
  for (const auto& c : clients_) {
    // While answering, POLLOUT: the socket has room, and what to write is made then.
    const short events = c->answering ? POLLOUT : POLLIN;
    fds.push_back({.fd = c->fd.get(), .events = events, .revents = 0});
  }
}

void ControlServer::on_ready(std::span<const pollfd> fds, Instant now) {
  std::size_t budget = kConnsPerWakeup;
  // fds[i + 1] belongs to clients_[i]: clients accepted below are polled from the next round.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < clients_.size(); ++i) {
    auto& c = *clients_[i];
    const short revents = i + 1 < fds.size() ? fds[i + 1].revents : short{0};
    bool alive = true;
    if ((revents & (POLLERR | POLLNVAL)) != 0) {
      alive = false;
    } else if (!c.answering && (revents & (POLLIN | POLLHUP)) != 0) {
      alive = on_readable(c);
    }
    if (alive && c.answering && (revents & (POLLOUT | POLLIN | POLLHUP)) != 0) {
      alive = pump(c, now, budget);
    }
    if (alive) { clients_[kept++] = std::move(clients_[i]); }
  }
  clients_.resize(kept);
  if (!fds.empty() && (fds[0].revents & POLLIN) != 0) { accept_all(); }
}

void ControlServer::accept_all() {
  for (;;) {
    auto fd = listener_.accept();
    if (!fd.valid()) { return; }
    auto c = std::make_unique<Client>();
    c->fd = std::move(fd);
    const auto cred = io::peer_credentials(c->fd.get());
    if (!cred || !cred->may_control(::geteuid(), group_)) {
      // The file's mode keeps others out already; this holds should the mode be loosened.
      c->fail(fmt::format("access refused: uid {} is neither root, tapsrv's user nor in group {}",
                          cred ? cred->uid : static_cast<uid_t>(-1), group_));
      spdlog::debug("control: refused uid {}", cred ? cred->uid : static_cast<uid_t>(-1));
    } else if (clients_.size() >= kMaxClients) {
      c->fail("busy: too many control clients");
    }
    if (c->closing) {
      // Best effort, one write, and gone: a refused client gets no further attention.
      (void)io::write_some(c->fd.get(), c->out);
      continue;
    }
    clients_.push_back(std::move(c));
  }
}

bool ControlServer::on_readable(Client& c) {
  char buf[kMaxRequest];
  const auto r = io::read_some(c.fd.get(), buf);
  if (r.would_block) { return true; }
  if (r.n <= 0) { return false; }  // gone before asking
  c.in.append(buf, static_cast<std::size_t>(r.n));
  const auto nl = c.in.find('\n');
  if (nl == std::string::npos) {
    if (c.in.size() >= kMaxRequest) { c.fail("request too long"); }
    return true;
  }
  const auto req = parse_request(std::string_view{c.in}.substr(0, nl));
  if (!req) {
    c.fail("bad request (status [STATE] or stats)");
    return true;
  }
  start(c, *req);
  return true;
}

void ControlServer::start(Client& c, const Request& r) {
  c.answering = true;
  fmt::format_to(std::back_inserter(c.out), "{} version={} interface={}\n", kControlHello,
                 identity_.version, identity_.interface);
  if (r.kind == Request::Kind::Stats) {
    const auto s = snapshot_of(stats_);
    for (const auto& v : s.counters) {
      fmt::format_to(std::back_inserter(c.out), "counter {} {}\n", v.name, v.value);
    }
    for (const auto& v : s.drops) {
      fmt::format_to(std::back_inserter(c.out), "drop {} {}\n", v.name, v.value);
    }
    for (const auto& v : s.tx_drops) {
      fmt::format_to(std::back_inserter(c.out), "tx_drop {} {}\n", v.name, v.value);
    }
    c.out += "end\n";
    c.closing = true;
    return;
  }
  for (const auto& l : identity_.listeners) {
    fmt::format_to(std::back_inserter(c.out), "listener local={} service={}\n", l.local, l.service);
  }
  c.filter = r.state;
  c.cursor = engine_.walk();
}

bool ControlServer::pump(Client& c, Instant now, std::size_t& budget) {
  while (c.cursor && budget > 0 && c.unsent() < kHighWater) {
    const tcp::Connection* conn = c.cursor->next();
    if (conn == nullptr) {
      c.cursor.reset();
      // TIME_WAIT lives in the engine's records, not as connections: counted, not listed.
      // TODO(#12): list the records too (ss shows TIME-WAIT rows).
      c.counts[static_cast<std::size_t>(tcp::State::TimeWait)] += engine_.time_wait_count();
      append_summary_line(c.out, c.counts);
      c.out += "end\n";
      c.closing = true;
      break;
    }
    --budget;
    const auto info = conn->info(now);
    ++c.counts[static_cast<std::size_t>(info.state)];
    if (!c.filter || *c.filter == info.state) { append_conn_line(c.out, info); }
  }
  while (c.unsent() > 0) {
    const auto w = io::write_some(c.fd.get(), std::string_view{c.out}.substr(c.sent));
    if (w.would_block) { break; }
    if (w.n <= 0) { return false; }  // the client went away
    c.sent += static_cast<std::size_t>(w.n);
  }
  if (c.sent == c.out.size()) {
    c.out.clear();
    c.sent = 0;
    return !c.closing;
  }
  if (c.sent > kHighWater) {  // keep the buffer from creeping: drop what was written
    c.out.erase(0, c.sent);
    c.sent = 0;
  }
  return true;
}

}  // namespace tapsrv::app
