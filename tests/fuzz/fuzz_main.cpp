// libFuzzer's entry point, compiled once per target with TAPSRV_FUZZ_TARGET naming its body.
#include "fuzz/targets.hpp"
#include "tapsrv/core/bug.hpp"

// A TAPSRV_BUG_IF that fires is a finding: abort, so libFuzzer keeps the input.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  tapsrv::set_bug_policy(tapsrv::BugPolicy::Abort);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tapsrv::fuzz::TAPSRV_FUZZ_TARGET(data, size);
}
