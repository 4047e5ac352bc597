// Active opens: the engine connect()s out first (CLOSED -> SYN_SENT, RFC 9293 §3.10.1) and the
// script plays the peers: a SYN,ACK, an RST, an unacceptable ACK, a SYN of its own (simultaneous
// open, §3.5 Figure 8), silence until the SYN is retransmitted and given up.
//
// Input: fuzz_tcp_script's config byte, an open byte (bits 0-3 the peers connected to before the
// first step, none meaning peer 0; bit 4 no listener on the port we connect from; bit 5 our SYNs
// ask for ECN; bits 6-7 unused), then fuzz_tcp_script's steps. A peer's first seq offset counts
// from its ISS, 0xffffff00, and an ack offset of 0 from SND.NXT acknowledges our SYN.
#include "fuzz/runs.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {

RunSummary run_active_script(const std::uint8_t* data, std::size_t size) {
  FuzzInput in{data, size};
  const std::uint8_t config = in.u8();
  const std::uint8_t open = in.u8();
  const auto mask = static_cast<std::uint8_t>(open & 0x0fU);
  return run_script_steps(config, in,
                          ScriptOpen{.connect_mask = mask == 0 ? std::uint8_t{1} : mask,
                                     .listener = (open & 0x10U) == 0,
                                     .ecn_on_connect = (open & 0x20U) != 0});
}

int fuzz_tcp_active(const std::uint8_t* data, std::size_t size) {
  run_active_script(data, size);
  return 0;
}

}  // namespace tapsrv::fuzz
