// The event loop: TAP frames and signals in, stack frames out, the clock read once per wake-up.
#pragma once

#include "app/control_server.hpp"
#include "tapsrv/core/stats.hpp"
#include "tapsrv/io/pcap_writer.hpp"
#include "tapsrv/io/signal_fd.hpp"
#include "tapsrv/io/tap_device.hpp"
#include "tapsrv/stack/stack.hpp"

namespace tapsrv::app {

struct LoopResult {
  int signal = 0;     // the signal that ended the loop, or 0
  int tap_error = 0;  // errno of a fatal TAP read error, or 0
};

/// Runs until SIGINT/SIGTERM or a fatal TAP error. `pcap` may be null. After a wake-up that
/// brought frames, the loop keeps polling without sleeping for `busy_poll` (Linux's busy_poll):
/// a peer in a request/response exchange answers within microseconds, sooner than a sleeping
/// thread can be woken. `control` (may be null) is polled too and answers with a bounded
/// amount of work per wake-up.
LoopResult run_loop(Stack& stack, Stats& stats, io::TapDevice& tap, io::SignalFd& signals,
                    io::PcapWriter* pcap, Duration busy_poll, ControlServer* control = nullptr);

}  // namespace tapsrv::app
