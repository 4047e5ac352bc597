// The whole stack as tapsrv runs by default: MTU 1500, no offload (frame_run.cpp does the work).
#include "fuzz/runs.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {

RunSummary run_frames(const std::uint8_t* data, std::size_t size) {
  FuzzInput in{data, size};
  return run_frame_chunks(in, FrameSetup{});
}

int fuzz_frame(const std::uint8_t* data, std::size_t size) {
  run_frames(data, size);
  return 0;
}

}  // namespace tapsrv::fuzz
