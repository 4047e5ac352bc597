// The two harnesses each pair of targets shares: the whole Stack driven by fuzz_frame's chunks
// (fuzz_frame, and fuzz_frame_config under other settings; frame_run.cpp), and one tcp::Engine
// driven by a script of segments (fuzz_tcp_script, and fuzz_tcp_active with active opens;
// script_run.cpp). Every frame or segment sent is checked as a peer, or the device, would see it.
#pragma once

#include <cstdint>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {

/// What fuzz_frame_config varies; the defaults are fuzz_frame's.
struct FrameSetup {
  std::uint16_t mtu = 1500;
  /// StackConfig::offload: the engine sends TSO segments with partial checksums.
  bool tx_offload = false;
  /// Every received frame comes with RxOffload{checksum_trusted}, as from a TAP with
  /// IFF_VNET_HDR whose kernel vouches for the checksum (src/io/tap_device.cpp).
  bool rx_trusted = false;
};

/// The rest of `in` as chunks [be16 length][time step byte][frame]; the length's top bit keeps
/// the frame's checksums as they are, otherwise they are corrected before it goes in.
RunSummary run_frame_chunks(FuzzInput& in, const FrameSetup& setup);

/// How the script's connections start; the defaults are fuzz_tcp_script's.
struct ScriptOpen {
  /// Bit i: the engine connect()s to peer i (from the listener's port) before the first step.
  std::uint8_t connect_mask = 0;
  bool listener = true;
  /// tcp::Config::ecn_on_connect: our SYNs ask for ECN.
  bool ecn_on_connect = false;
};

/// The rest of `in` as steps (see fuzz_tcp_script.cpp for the format), after `config`, the
/// script's config byte.
RunSummary run_script_steps(std::uint8_t config, FuzzInput& in, const ScriptOpen& open);

}  // namespace tapsrv::fuzz
