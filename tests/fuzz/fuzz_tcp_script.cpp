// One tcp::Engine, a listener, and a script of (time step, segment) pairs from a few peer ports.
// Sequence and acknowledgment numbers are offsets from the connection's own RCV.NXT and SND.NXT
// (or SND.UNA), so the fuzzer lands in the window without guessing 32-bit numbers, and the
// handshake, data, SACK, both closes and every timer are within a few bytes of input.
//
// Input: a config byte (bits 0-1 service, 2 no window scaling, 3 no timestamps, 4 no SACK,
// 5 no Nagle, 6 keepalive, 7 user timeout), then steps of
//   [time step][flags][control][be16 seq offset][be16 ack offset][be16 window][payload length]
//   [options, when control bit 4: see read_options(); TSval and TSecr are offsets as well]
// control: bits 0-1 peer port, 2 ack from SND.UNA, 3 offsets times 65536, 4 options,
// 5 payload length times 16, 6 to a port nobody listens on, 7 payload bytes from the input
// (after the options) rather than a fixed pattern, e.g. an HTTP request.
#include "fuzz/runs.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {

RunSummary run_script(const std::uint8_t* data, std::size_t size) {
  FuzzInput in{data, size};
  const std::uint8_t config = in.u8();
  return run_script_steps(config, in, ScriptOpen{});
}

int fuzz_tcp_script(const std::uint8_t* data, std::size_t size) {
  run_script(data, size);
  return 0;
}

}  // namespace tapsrv::fuzz
