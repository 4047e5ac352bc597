// The unit tests' main: doctest's, after making every TAPSRV_BUG_IF abort, so that no test can
// pass over one of our inconsistencies (tapsrv itself counts them and resets the connection).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "tapsrv/core/bug.hpp"

int main(int argc, char** argv) {
  tapsrv::set_bug_policy(tapsrv::BugPolicy::Abort);
  return doctest::Context(argc, argv).run();
}
