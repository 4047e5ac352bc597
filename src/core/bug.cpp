#include "tapsrv/core/bug.hpp"

#include <cstdio>
#include <cstdlib>

namespace tapsrv {
namespace {

// stdio rather than spdlog: the core library must not depend on the logging stack.
void report_to_stderr(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "tapsrv internal bug: %s at %s:%d\n", expr, file, line);
}

// Single-threaded like the rest of the core; set once, at start-up, by a main.
BugPolicy g_policy = BugPolicy::Count;
BugReporter g_reporter = report_to_stderr;

}  // namespace

void set_bug_policy(BugPolicy p) noexcept { g_policy = p; }
BugPolicy bug_policy() noexcept { return g_policy; }
void set_bug_reporter(BugReporter r) noexcept { g_reporter = r != nullptr ? r : report_to_stderr; }

namespace detail {

bool on_bug(const char* expr, const char* file, int line, Stats& stats, bool& reported) noexcept {
  if (g_policy == BugPolicy::Abort) {
    report_to_stderr(expr, file, line);
    std::abort();
  }
  stats.add(Counter::InternalBug);
  if (!reported) {
    reported = true;
    g_reporter(expr, file, line);
  }
  return true;
}

}  // namespace detail
}  // namespace tapsrv
