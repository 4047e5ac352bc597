// upload, download and echo: one connection, as fast as it goes, every byte accounted for.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "common.hpp"

namespace loadgen {
namespace {

void print_result(const char* name, std::uint64_t bytes, double seconds) {
  std::printf("result %s bytes=%llu seconds=%.6f gbps=%.4f\n", name,
              static_cast<unsigned long long>(bytes), seconds,
              static_cast<double>(bytes) * 8 / seconds / 1e9);
}

void send_stream(int fd, std::uint64_t bytes) {
  const auto stream = Stream::pseudo_random();
  for (std::uint64_t sent = 0; sent < bytes;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, bytes - sent));
    if (!write_all(fd, stream.at(sent), n)) { die_errno("send"); }
    sent += n;
  }
  // Our FIN tells discard and echo that the stream is complete.
  if (::shutdown(fd, SHUT_WR) != 0) { die_errno("shutdown"); }
}

// Reads exactly `bytes` and checks each piece against `expected` from offset 0.
void receive_stream(int fd, std::uint64_t bytes, const Stream& expected, const char* what) {
  std::vector<std::byte> buf(kChunk);
  for (std::uint64_t got = 0; got < bytes;) {
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
}

// After our FIN a discard or echo server closes once it has everything: wait for that EOF.
void expect_eof(int fd) {
  std::byte b{};
  const ssize_t r = ::read(fd, &b, 1);
  if (r < 0) { die_errno("waiting for the server's close"); }
  if (r > 0) { die("unexpected data after the stream"); }
}

}  // namespace

int upload(const sockaddr_in& to, std::uint64_t bytes) {
  const int fd = tcp_connect_or_die(to, false);
  const auto t0 = Clock::now();
  send_stream(fd, bytes);
  expect_eof(fd);  // so the time covers delivery, not just filling our send buffer
  print_result("upload", bytes, seconds_since(t0));
  ::close(fd);
  return 0;
}

int download(const sockaddr_in& to, std::uint64_t bytes) {
  const int fd = tcp_connect_or_die(to, false);
  const auto t0 = Clock::now();
  receive_stream(fd, bytes, Stream::chargen(), "download");
  print_result("download", bytes, seconds_since(t0));
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
  print_result("echo", bytes, seconds_since(t0));
  ::close(fd);
  return 0;
}

}  // namespace loadgen
