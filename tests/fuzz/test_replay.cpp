// Replays the fuzz corpus and every kept crash through the targets' bodies in the ordinary
// build, so a fixed crash stays fixed, and checks that the corpus still reaches TCP's states.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "fuzz/targets.hpp"

namespace tapsrv::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir{TAPSRV_FUZZ_DIR};

/// The files of tests/fuzz/<kind>/<target>, sorted, so a failure names the same file every run.
std::vector<fs::path> inputs(const char* kind, const char* target) {
  std::vector<fs::path> out;
  const fs::path dir = kFuzzDir / kind / target;
  if (!fs::is_directory(dir)) { return out; }
  for (const auto& e : fs::directory_iterator{dir}) {
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') { out.push_back(e.path()); }
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Exactly the file's bytes on the heap, as libFuzzer passes them, so that AddressSanitizer
/// (build-san) sees a read past the end.
std::vector<std::uint8_t> read(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  const std::vector<char> chars{std::istreambuf_iterator<char>{in},
                                std::istreambuf_iterator<char>{}};
  return {chars.begin(), chars.end()};  // from a sized range: capacity == size
}

struct Target {
  const char* name;
  int (*body)(const std::uint8_t*, std::size_t);
};
constexpr Target kTargets[] = {
    {"fuzz_frame", fuzz_frame},
    {"fuzz_tcp_options", fuzz_tcp_options},
    {"fuzz_tcp_roundtrip", fuzz_tcp_roundtrip},
    {"fuzz_tcp_script", fuzz_tcp_script},
};

template <class Run>
RunSummary sum_over_corpus(const char* target, Run run) {
  RunSummary total;
  for (const auto& p : inputs("corpus", target)) {
    const auto bytes = read(p);
    const RunSummary s = run(bytes.data(), bytes.size());
    total.established += s.established;
    total.bytes_sent += s.bytes_sent;
    total.replies += s.replies;
  }
  return total;
}

TEST_SUITE("fuzz") {
  TEST_CASE("every corpus file and every kept crash runs through its target cleanly") {
    for (const auto& t : kTargets) {
      CAPTURE(t.name);
      const auto corpus = inputs("corpus", t.name);
      CHECK(corpus.size() >= 5);  // a wrong TAPSRV_FUZZ_DIR must not pass as "nothing to do"
      auto all = corpus;
      const auto crashes = inputs("crashes", t.name);
      all.insert(all.end(), crashes.begin(), crashes.end());
      for (const auto& p : all) {
        const std::string path = p.string();
        CAPTURE(path);
        replaying() = path.c_str();
        const auto bytes = read(p);
        CHECK(t.body(bytes.data(), bytes.size()) == 0);
        replaying() = nullptr;
      }
    }
  }

  TEST_CASE("the captured frames still establish connections, move data and get replies") {
    // The conversations only work while tools/pcap2corpus.py and fuzz_frame.cpp agree on the
    // chunk format and the ISS: this notices when they drift apart.
    const RunSummary s = sum_over_corpus("fuzz_frame", run_frames);
    // As captured: 11 connections, 160 KB sent, 18 ARP and ping replies.
    CHECK(s.established >= 8);
    CHECK(s.bytes_sent >= 10000);
    CHECK(s.replies >= 10);
  }

  TEST_CASE("the script seeds establish connections and move data") {
    const RunSummary s = sum_over_corpus("fuzz_tcp_script", run_script);
    // As generated: 22 connections, 290 KB sent.
    CHECK(s.established >= 15);
    CHECK(s.bytes_sent >= 10000);
  }
}

}  // namespace
}  // namespace tapsrv::fuzz
