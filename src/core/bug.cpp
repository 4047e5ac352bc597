#include "tapsrv/core/bug.hpp"

#include <cstdio>

namespace tapsrv::detail {

// stdio rather than spdlog: the core library must not depend on the logging stack.
void bug_abort(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "tapsrv internal bug: %s at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace tapsrv::detail
