#include "app/run_loop.hpp"

#include <malloc.h>
#include <poll.h>

#include <vector>

#include "tapsrv/io/clock.hpp"
#include "tapsrv/wire/ethernet.hpp"

namespace tapsrv::app {
namespace {

// Bounded so a flood of frames cannot starve timers and signals.
constexpr int kMaxFramesPerWakeup = 256;
// Idle connections give their buffers back to the allocator; past this much, it gives whole free
// pages back to the kernel too, so the memory shows as freed in RSS and not only in its books.
constexpr std::uint64_t kTrimAfterReleasedBytes = 16 * 1024 * 1024;

void flush_tx(Stack& stack, io::TapDevice& tap, io::PcapWriter* pcap) {
  auto& tx = stack.tx();
  for (std::size_t i = 0; i < tx.size(); ++i) {
    const auto frame = tx[i];
    if (pcap != nullptr) { pcap->write(frame); }
    stack.count_tx(i, tap.write(frame, tx.offload(i)) == 0);
  }
  tx.clear();
}

int poll_timeout_ms(std::optional<Instant> deadline, Instant now) {
  if (!deadline) { return -1; }
  if (*deadline <= now) { return 0; }
  // Round up: waking a little late is harmless, waking early just spins once more.
  const auto us = (*deadline - now).count();
  return static_cast<int>(std::min<Duration::rep>((us + 999) / 1000, 60'000));
}

}  // namespace

LoopResult run_loop(Stack& stack, Stats& stats, io::TapDevice& tap, io::SignalFd& signals,
                    io::PcapWriter* pcap, Duration busy_poll, ControlServer* control) {
  std::vector<std::byte> rx(io::TapDevice::kMaxFrame);
  stack.start(io::clock_now());
  flush_tx(stack, tap, pcap);

  // The TAP, the signals, then the control socket's listener and clients.
  std::vector<pollfd> fds;
  std::uint64_t released_at_last_trim = 0;
  Instant spin_until{};
  for (;;) {
    const Instant before = io::clock_now();
    const bool spinning = before < spin_until;
    const int timeout = spinning ? 0 : poll_timeout_ms(stack.next_deadline(), before);
    fds.clear();
    fds.push_back({.fd = tap.fd(), .events = POLLIN, .revents = 0});
    fds.push_back({.fd = signals.fd(), .events = POLLIN, .revents = 0});
    if (control != nullptr) { control->add_poll_fds(fds); }
    const int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) { return {.tap_error = errno}; }
    if (ready == 0 && spinning) { continue; }
    if ((fds[1].revents & POLLIN) != 0) {
      if (const int sig = signals.take(); sig != 0) {
        // Reset every connection so no peer is left hanging, and let the RSTs out.
        stack.shutdown(io::clock_now());
        flush_tx(stack, tap, pcap);
        return {.signal = sig};
      }
    }
    for (int i = 0; i < kMaxFramesPerWakeup; ++i) {
      const auto r = tap.read(rx);
      if (r.would_block) { break; }
      if (i == 0) { spin_until = io::clock_now() + busy_poll; }
      if (r.error != 0) { return {.tap_error = r.error}; }
      const auto frame = wire::Bytes{rx}.first(r.len);
      if (pcap != nullptr) { pcap->write(frame); }
      stack.on_frame(io::clock_now(), frame, r.offload);
    }
    stack.on_timers(io::clock_now());
    flush_tx(stack, tap, pcap);
    // After the packet path had its turn; the server bounds its own work.
    if (control != nullptr && ready > 0) {
      control->on_ready(std::span<const pollfd>{fds}.subspan(2), io::clock_now());
    }
    if (pcap != nullptr) { pcap->flush(); }
    const auto released = stats.get(Counter::TcpBufferBytesReleased);
    if (released - released_at_last_trim >= kTrimAfterReleasedBytes) {
      ::malloc_trim(0);
      released_at_last_trim = released;
    }
  }
}

}  // namespace tapsrv::app
