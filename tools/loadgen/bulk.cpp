// upload, download and echo: one connection, as fast as it goes, every byte accounted for.
// upload and download may be bounded in time (--time-limit): tools/bench's loss runs must end
// even when a stack collapses, and then report how far they got instead of failing.
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "common.hpp"

namespace loadgen {
namespace {

// The end of a bounded transfer, or none. Without one, every call blocks and the socket's own
// 10 s timeouts (tcp_connect) turn a stall into an error; with one, a stall just waits for the
// deadline, however long the peer's retransmission backoff grows.
class Deadline {
 public:
  explicit Deadline(std::optional<std::uint64_t> seconds) {
    if (seconds) { at_ = Clock::now() + std::chrono::seconds(*seconds); }
  }
  bool bounded() const { return at_.has_value(); }
  // Until fd is ready for `events`: true, or false once the deadline came first.
  bool wait(int fd, short events) const {
    if (!at_) { return true; }  // the blocking call that follows does the waiting
    for (;;) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*at_ - Clock::now()).count();
      if (left <= 0) { return false; }
      pollfd p{.fd = fd, .events = events, .revents = 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
      if (r < 0 && errno == EINTR) { continue; }
      if (r < 0) { die_errno("poll"); }
      if (r > 0) { return true; }
    }
  }

 private:
  std::optional<Clock::time_point> at_;
};

void print_result(const char* name, std::uint64_t bytes, double seconds, bool finished) {
  std::printf("result %s bytes=%llu seconds=%.6f gbps=%.4f finished=%d\n", name,
              static_cast<unsigned long long>(bytes), seconds,
              static_cast<double>(bytes) * 8 / seconds / 1e9, finished ? 1 : 0);
}

// Sends the pseudo-random stream, then our FIN, which tells discard and echo that the stream is
// complete. Returns the bytes handed to the socket: all of them unless the deadline passed
// (then no FIN).
std::uint64_t send_stream(int fd, std::uint64_t bytes,
                          const Deadline& deadline = Deadline(std::nullopt)) {
  const auto stream = Stream::pseudo_random();
  // Bounded: never block in send, or one call could outlast the deadline.
  const int flags = MSG_NOSIGNAL | (deadline.bounded() ? MSG_DONTWAIT : 0);
  std::uint64_t sent = 0;
  while (sent < bytes) {
    if (!deadline.wait(fd, POLLOUT)) { return sent; }
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, bytes - sent));
    const ssize_t w = ::send(fd, stream.at(sent), n, flags);
    if (w < 0 && (errno == EINTR || (deadline.bounded() && errno == EAGAIN))) { continue; }
    if (w <= 0) { die_errno("send"); }
    sent += static_cast<std::uint64_t>(w);
  }
  if (::shutdown(fd, SHUT_WR) != 0) { die_errno("shutdown"); }
  return sent;
}

// Reads `bytes` and checks each piece against `expected` from offset 0. Returns the bytes read:
// all of them unless the deadline passed.
std::uint64_t receive_stream(int fd, std::uint64_t bytes, const Stream& expected, const char* what,
                             const Deadline& deadline = Deadline(std::nullopt)) {
  std::vector<std::byte> buf(kChunk);
  std::uint64_t got = 0;
  while (got < bytes) {
    if (!deadline.wait(fd, POLLIN)) { return got; }
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, bytes - got));
    const ssize_t r = ::read(fd, buf.data(), want);
    if (r < 0 && errno == EINTR) { continue; }
    if (r < 0) { die_errno("read"); }
    if (r == 0) { die(std::string(what) + ": connection closed after " + std::to_string(got)); }
    if (!expected.matches(got, buf.data(), static_cast<std::size_t>(r))) {
      die(std::string(what) + ": wrong data within bytes " + std::to_string(got) + ".." +
          std::to_string(got + static_cast<std::uint64_t>(r)));
    }
    got += static_cast<std::uint64_t>(r);
  }
  return got;
}

// After our FIN a discard or echo server closes once it has everything: wait for that EOF.
// False if the deadline passed first.
bool expect_eof(int fd, const Deadline& deadline = Deadline(std::nullopt)) {
  if (!deadline.wait(fd, POLLIN)) { return false; }
  std::byte b{};
  const ssize_t r = ::read(fd, &b, 1);
  if (r < 0) { die_errno("waiting for the server's close"); }
  if (r > 0) { die("unexpected data after the stream"); }
  return true;
}

// Bytes of ours the peer has acknowledged: what we wrote less what the socket still holds
// (SIOCOUTQ: written but not yet acknowledged, as Linux's tcp_ioctl counts it).
std::uint64_t acknowledged(int fd, std::uint64_t written) {
  int queued = 0;
  if (::ioctl(fd, SIOCOUTQ, &queued) != 0) { die_errno("SIOCOUTQ"); }
  return written - std::min<std::uint64_t>(written, static_cast<std::uint64_t>(queued));
}

// Close with an RST (SO_LINGER 0): a transfer cut off at its deadline must not go on
// retransmitting into the next measurement.
void abort_connection(int fd) {
  const linger l{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

}  // namespace

int upload(const sockaddr_in& to, std::uint64_t bytes, std::optional<std::uint64_t> limit_s) {
  const int fd = tcp_connect_or_die(to, false);
  const Deadline deadline(limit_s);
  const auto t0 = Clock::now();
  const std::uint64_t sent = send_stream(fd, bytes, deadline);
  // Waiting for the close makes the time cover delivery, not just filling our send buffer.
  if (sent == bytes && expect_eof(fd, deadline)) {
    print_result("upload", bytes, seconds_since(t0), true);
    ::close(fd);
    return 0;
  }
  // Cut off: what counts is what arrived, which is what the server acknowledged.
  print_result("upload", acknowledged(fd, sent), seconds_since(t0), false);
  abort_connection(fd);
  return 0;
}

int download(const sockaddr_in& to, std::uint64_t bytes, std::optional<std::uint64_t> limit_s) {
  const int fd = tcp_connect_or_die(to, false);
  const Deadline deadline(limit_s);
  const auto t0 = Clock::now();
  const std::uint64_t got = receive_stream(fd, bytes, Stream::chargen(), "download", deadline);
  print_result("download", got, seconds_since(t0), got == bytes);
  ::close(fd);  // chargen streams until we close; unread data makes this an RST, which is fine
  return 0;
}

int echo(const sockaddr_in& to, std::uint64_t bytes) {
  const int fd = tcp_connect_or_die(to, false);
  const auto t0 = Clock::now();
  // A sender thread, so neither direction waits for the other (a single thread alternating
  // writes and reads would measure its own scheduling, and could deadlock on full windows).
  std::thread sender([fd, bytes] { send_stream(fd, bytes); });
  receive_stream(fd, bytes, Stream::pseudo_random(), "echo");
  sender.join();
  expect_eof(fd);
  print_result("echo", bytes, seconds_since(t0), true);
  ::close(fd);
  return 0;
}

}  // namespace loadgen
