// libFuzzer's entry point, compiled once per target with TAPSRV_FUZZ_TARGET naming its body.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return tapsrv::fuzz::TAPSRV_FUZZ_TARGET(data, size);
}
