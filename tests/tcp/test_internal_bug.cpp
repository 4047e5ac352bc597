// TAPSRV_BUG_IF's one policy, whatever NDEBUG says: tapsrv counts internal_bug, reports the site
// once and resets the one connection; unit tests and fuzzers abort (their mains set it).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "support/tcp_peer.hpp"
#include "tapsrv/core/bug.hpp"

namespace tapsrv::test {
namespace {

using tcp::State;

// The release policy for the length of one test; the suite's main set Abort.
struct CountBugs {
  CountBugs() {
    set_bug_policy(BugPolicy::Count);
    set_bug_reporter([](const char* expr, const char* /*file*/, int line) {
      reported().push_back(std::string{expr} + "@" + std::to_string(line));
    });
  }
  CountBugs(const CountBugs&) = delete;
  CountBugs& operator=(const CountBugs&) = delete;
  ~CountBugs() {
    set_bug_policy(BugPolicy::Abort);
    set_bug_reporter(nullptr);
    reported().clear();
  }
  static std::vector<std::string>& reported() {
    static std::vector<std::string> r;
    return r;
  }
};

bool check_twice(Stats& stats, bool cond) { return TAPSRV_BUG_IF(cond, stats); }

TEST_SUITE("tcp.internal_bug") {
  TEST_CASE("the unit tests run under the abort policy") {
    CHECK(bug_policy() == BugPolicy::Abort);
  }

  TEST_CASE("abort policy: the process dies with SIGABRT") {
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // The child's report line, and doctest's crash report, are expected, not news.
      ::close(STDOUT_FILENO);
      ::close(STDERR_FILENO);
      Stats s;
      set_bug_policy(BugPolicy::Abort);
      (void)TAPSRV_BUG_IF(s.get(Counter::RxFrames) == 0, s);
      ::_exit(0);  // reached only if it did not abort
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGABRT);
  }

  TEST_CASE("count policy: true is counted, the site reported once, and the caller goes on") {
    const CountBugs policy;
    Stats s;
    CHECK_FALSE(check_twice(s, false));
    CHECK(s.get(Counter::InternalBug) == 0);
    CHECK(check_twice(s, true));
    CHECK(check_twice(s, true));
    CHECK(s.get(Counter::InternalBug) == 2);
    REQUIRE(CountBugs::reported().size() == 1);  // the second time at the same site is quiet
    CHECK(CountBugs::reported()[0].starts_with("cond@"));
    // Another site reports on its own.
    CHECK(TAPSRV_BUG_IF(s.get(Counter::InternalBug) == 2, s));
    CHECK(CountBugs::reported().size() == 2);
    CHECK(s.get(Counter::InternalBug) == 3);
  }

  TEST_CASE("a connection found broken is reset, and the engine serves the others") {
    const CountBugs policy;
    TcpPeer p = TcpPeer::established();
    // Stands in for a TAPSRV_BUG_IF inside the connection while it handles this segment (the
    // sites in tcp/ call mark_broken() when theirs fires).
    p.app().on_readable = [](tcp::Connection& c) { c.mark_broken(); };
    const Buffer bytes = pattern(100);
    p.send(data(kPeerSeq, kOurSeq, bytes));
    // Reset as RFC 9293 §3.10.5 ABORT does: RST at SND.NXT, the connection gone.
    p.expect({.flags = kRst | kAck, .seq = kOurSeq});
    CHECK(p.state() == State::Closed);
    CHECK(p.engine().connection_count() == 0);
    CHECK(p.transitions().ends_with("ESTABLISHED->CLOSED(internal_bug)"));
    // A new connection from another port is served as usual.
    p.app().on_readable = nullptr;
    p.send(from_port(syn(kRemoteIss), kPeerPort + 1));
    p.expect({.flags = kSyn | kAck, .seq = kLocalIss, .ack = kRemoteIss + 1});
    p.send(from_port(ack(kPeerSeq, kOurSeq), kPeerPort + 1));
    CHECK(p.state(kPeerPort + 1) == State::Established);
  }
}

}  // namespace
}  // namespace tapsrv::test
