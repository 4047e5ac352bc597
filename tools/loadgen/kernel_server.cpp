// tapsrv-kernel-server --echo PORT --discard PORT --chargen PORT: tapsrv's three services on the
// kernel's TCP, as the reference tools/bench compares tapsrv with. One thread and level-triggered
// epoll, like tapsrv's own single event loop, so the comparison is stack against stack.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

enum class Kind { Listener, Echo, Discard, Chargen };

// Big enough that one call moves a lot at 10+ Gbit/s; shared, so an idle connection costs
// only its small Conn (what the hold measurement's user-space figure shows).
constexpr std::size_t kIoSize = 256 * 1024;
// Per wake-up and connection, so one fast connection cannot starve the others.
constexpr int kMaxCallsPerEvent = 16;

struct Conn {
  Conn(Kind k, Kind s) : kind(k), serves(s) {}
  Kind kind;
  Kind serves;                  // for a listener: what its connections do
  std::vector<std::byte> owed;  // echo: bytes read but not yet written back
  std::size_t owed_off = 0;
  std::uint64_t chargen_off = 0;
};

struct Server {
  int ep = -1;
  std::vector<std::unique_ptr<Conn>> by_fd;  // fds are small and dense: index directly
  std::vector<int> listeners;
  bool accept_paused = false;
  std::vector<std::byte> io = std::vector<std::byte>(kIoSize);
  std::vector<std::byte> chargen;  // one RFC 864 period, then kIoSize more for contiguous sends
  std::size_t chargen_period = 0;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "tapsrv-kernel-server: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void watch(Server& s, int op, int fd, std::uint32_t events) {
  epoll_event ev{.events = events, .data = {.fd = fd}};
  if (::epoll_ctl(s.ep, op, fd, &ev) != 0) { die("epoll_ctl"); }
}

void close_conn(Server& s, int fd) {
  ::close(fd);  // also leaves the epoll set
  s.by_fd[static_cast<std::size_t>(fd)].reset();
  if (s.accept_paused) {  // a descriptor is free again
    s.accept_paused = false;
    for (const int l : s.listeners) { watch(s, EPOLL_CTL_MOD, l, EPOLLIN); }
  }
}

void track(Server& s, int fd, Kind kind, Kind serves) {
  const auto i = static_cast<std::size_t>(fd);
  if (s.by_fd.size() <= i) { s.by_fd.resize(i + 1); }
  s.by_fd[i] = std::make_unique<Conn>(kind, serves);
}

void listen_on(Server& s, int port, Kind serves) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { die("socket"); }
  const int one = 1;
  // REUSEPORT: tools/bench may start several of us on one port when it needs more descriptors
  // than one process may have.
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    die("bind " + std::to_string(port));
  }
  if (::listen(fd, SOMAXCONN) != 0) { die("listen"); }
  track(s, fd, Kind::Listener, serves);
  s.listeners.push_back(fd);
  watch(s, EPOLL_CTL_ADD, fd, EPOLLIN);
}

void accept_all(Server& s, int lfd, Kind serves) {
  for (;;) {
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: stop watching the listeners (level-triggered would spin) and leave
        // the rest in the kernel's queue until some connection closes.
        s.accept_paused = true;
        for (const int l : s.listeners) { watch(s, EPOLL_CTL_MOD, l, 0); }
        return;
      }
      if (errno == EINTR || errno == ECONNABORTED) { continue; }
      return;  // EAGAIN: queue empty
    }
    track(s, fd, serves, serves);
    // chargen writes whenever there is room; the others read until the peer asks for output.
    watch(s, EPOLL_CTL_ADD, fd, serves == Kind::Chargen ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
}

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK; }

// Echo: read, write back; whatever the peer is not ready for is kept and reading stops until it
// is written (backpressure: we never buffer more than one read's worth per connection).
void on_echo(Server& s, int fd, Conn& c, std::uint32_t events) {
  if ((events & EPOLLOUT) != 0) {
    const ssize_t w =
        ::send(fd, c.owed.data() + c.owed_off, c.owed.size() - c.owed_off, MSG_NOSIGNAL);
    if (w < 0 && !would_block()) { return close_conn(s, fd); }
    if (w > 0) { c.owed_off += static_cast<std::size_t>(w); }
    if (c.owed_off < c.owed.size()) { return; }
    c.owed.clear();
    c.owed.shrink_to_fit();
    c.owed_off = 0;
    watch(s, EPOLL_CTL_MOD, fd, EPOLLIN);
    return;  // level-triggered: if data is waiting we hear about it next round
  }
  for (int i = 0; i < kMaxCallsPerEvent; ++i) {
    const ssize_t r = ::read(fd, s.io.data(), s.io.size());
    if (r < 0 && would_block()) { return; }
    if (r <= 0) { return close_conn(s, fd); }  // EOF: everything read was written back
    const auto n = static_cast<std::size_t>(r);
    ssize_t w = ::send(fd, s.io.data(), n, MSG_NOSIGNAL);
    if (w < 0 && !would_block()) { return close_conn(s, fd); }
    if (w < 0) { w = 0; }
    if (static_cast<std::size_t>(w) < n) {
      c.owed.assign(s.io.begin() + w, s.io.begin() + static_cast<std::ptrdiff_t>(n));
      watch(s, EPOLL_CTL_MOD, fd, EPOLLOUT);
      return;
    }
  }
}

void on_discard(Server& s, int fd) {
  for (int i = 0; i < kMaxCallsPerEvent; ++i) {
    const ssize_t r = ::read(fd, s.io.data(), s.io.size());
    if (r < 0 && would_block()) { return; }
    if (r <= 0) { return close_conn(s, fd); }  // EOF: the client waits for this close
  }
}

// Chargen: stream until the peer closes (reads 0) or resets (write fails).
void on_chargen(Server& s, int fd, Conn& c, std::uint32_t events) {
  if ((events & (EPOLLERR | EPOLLHUP)) != 0) { return close_conn(s, fd); }
  if ((events & EPOLLIN) != 0) {
    const ssize_t r = ::read(fd, s.io.data(), s.io.size());
    if (r == 0 || (r < 0 && !would_block())) { return close_conn(s, fd); }
  }
  if ((events & EPOLLOUT) == 0) { return; }
  for (int i = 0; i < kMaxCallsPerEvent; ++i) {
    const std::size_t off = c.chargen_off % s.chargen_period;
    const ssize_t w = ::send(fd, s.chargen.data() + off, kIoSize, MSG_NOSIGNAL);
    if (w < 0 && would_block()) { return; }
    if (w < 0) { return close_conn(s, fd); }
    c.chargen_off += static_cast<std::uint64_t>(w);
  }
}

void build_chargen(Server& s) {
  for (int line = 0; line < 95; ++line) {
    for (int i = 0; i < 72; ++i) {
      s.chargen.push_back(static_cast<std::byte>(' ' + (line + i) % 95));
    }
    s.chargen.push_back(std::byte{'\r'});
    s.chargen.push_back(std::byte{'\n'});
  }
  s.chargen_period = s.chargen.size();
  while (s.chargen.size() < s.chargen_period + kIoSize) {
    s.chargen.insert(s.chargen.end(), s.chargen.begin(),
                     s.chargen.begin() + static_cast<std::ptrdiff_t>(s.chargen_period));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Server s;
  s.ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (s.ep < 0) { die("epoll_create1"); }
  build_chargen(s);
  std::signal(SIGPIPE, SIG_IGN);
  std::string ports;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const int port = std::atoi(argv[i + 1]);
    const Kind k = opt == "--echo"      ? Kind::Echo
                   : opt == "--discard" ? Kind::Discard
                   : opt == "--chargen" ? Kind::Chargen
                                        : Kind::Listener;
    if (k == Kind::Listener || port <= 0 || port > 65535) {
      argc = 0;
      break;
    }
    listen_on(s, port, k);
    ports += " " + opt.substr(2) + "=" + argv[i + 1];
  }
  if (argc % 2 == 0 || s.listeners.empty()) {
    std::fputs("usage: tapsrv-kernel-server [--echo PORT] [--discard PORT] [--chargen PORT]...\n",
               stderr);
    return 2;
  }
  std::printf("ready%s\n", ports.c_str());  // tools/bench waits for this line
  std::fflush(stdout);

  std::vector<epoll_event> events(256);
  for (;;) {
    const int n = ::epoll_wait(s.ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno == EINTR) { continue; }
    if (n < 0) { die("epoll_wait"); }
    for (int i = 0; i < n; ++i) {
      const int fd = events[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t ev = events[static_cast<std::size_t>(i)].events;
      Conn* c = s.by_fd[static_cast<std::size_t>(fd)].get();
      if (c == nullptr) { continue; }  // closed earlier in this batch
      switch (c->kind) {
        case Kind::Listener: accept_all(s, fd, c->serves); break;
        case Kind::Echo: on_echo(s, fd, *c, ev); break;
        case Kind::Discard: on_discard(s, fd); break;
        case Kind::Chargen: on_chargen(s, fd, *c, ev); break;
      }
    }
  }
}
