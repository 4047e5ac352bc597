// The fuzz targets as plain functions: libFuzzer calls them through fuzz_main.cpp (clang builds),
// and the unit test replays the corpus and the kept crashes through them (every build).
// Each is deterministic: a fixed clock, a fixed ISN, nothing kept from one input to the next.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapsrv::fuzz {

/// What a run reached, so the replay test can tell a corpus that still drives TCP from one that
/// a format change has turned into noise.
struct RunSummary {
  std::uint64_t established = 0;  // connections that reached ESTABLISHED
  std::uint64_t bytes_sent = 0;   // TCP payload bytes the stack or engine sent
  std::uint64_t replies = 0;      // ARP replies and ICMP echo replies (the frame targets)
  std::uint64_t tso_frames = 0;   // frames sent for the device to cut (fuzz_frame_config)
};

/// The whole Stack (10.0.0.2 at 02:00:0a:00:00:02; echo 3333, discard 9, chargen 19, http 8080)
/// fed a sequence of chunks, each [be16 length][time step byte][frame]. The length's top bit
/// keeps the frame's checksums as they are; otherwise they are corrected before it goes in.
RunSummary run_frames(const std::uint8_t* data, std::size_t size);
/// run_frames() after a config byte: an MTU from the lowest --mtu allows to 9000, offload
/// (TSO, partial checksums) on what the stack sends, trusted checksums on what it receives.
RunSummary run_frames_config(const std::uint8_t* data, std::size_t size);
/// One tcp::Engine fed (time step, segment) pairs aimed at a few 4-tuples, with seq and ack
/// relative to the connection's own variables; checks the TCB invariants after every step.
RunSummary run_script(const std::uint8_t* data, std::size_t size);
/// run_script() with active opens: the engine connect()s to some of the peers before the first
/// step (an open byte after the config byte says which), and the script plays those peers.
RunSummary run_active_script(const std::uint8_t* data, std::size_t size);

int fuzz_frame(const std::uint8_t* data, std::size_t size);
int fuzz_frame_config(const std::uint8_t* data, std::size_t size);
/// wire::decode_options on the input; what decodes must survive encode and decode.
int fuzz_tcp_options(const std::uint8_t* data, std::size_t size);
/// A TcpSegment built from the input must come back field for field from encode, parse, checksum
/// verification and decode.
int fuzz_tcp_roundtrip(const std::uint8_t* data, std::size_t size);
int fuzz_tcp_script(const std::uint8_t* data, std::size_t size);
int fuzz_tcp_active(const std::uint8_t* data, std::size_t size);

}  // namespace tapsrv::fuzz
