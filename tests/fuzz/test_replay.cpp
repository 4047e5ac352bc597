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
    {"fuzz_frame_config", fuzz_frame_config},
    {"fuzz_tcp_active", fuzz_tcp_active},
    {"fuzz_tcp_options", fuzz_tcp_options},
    {"fuzz_tcp_roundtrip", fuzz_tcp_roundtrip},
    {"fuzz_tcp_script", fuzz_tcp_script},
};

/// What each driving target's seeds reach at least, well below what they reached when made.
struct Floor {
  const char* target;
  RunSummary (*run)(const std::uint8_t*, std::size_t);
  RunSummary min;
};
constexpr Floor kFloors[] = {
    // As captured: 11 connections, 160 KB sent, 18 ARP and ping replies.
    {"fuzz_frame", run_frames, {.established = 8, .bytes_sent = 10000, .replies = 10}},
    // Each conversation under offload at 1500 and 9000 and at one more MTU; as generated: 33
    // connections, 380 KB sent, 58 frames for the device to cut.
    {"fuzz_frame_config",
     run_frames_config,
     {.established = 25, .bytes_sent = 100000, .replies = 10, .tso_frames = 30}},
    // As generated: 22 connections, 290 KB sent.
    {"fuzz_tcp_script", run_script, {.established = 15, .bytes_sent = 10000}},
    // As generated: 23 connections (active, simultaneous and passive), 35 KB sent.
    {"fuzz_tcp_active", run_active_script, {.established = 15, .bytes_sent = 10000}},
};

RunSummary sum_over_corpus(const char* target,
                           RunSummary (*run)(const std::uint8_t*, std::size_t)) {
  RunSummary total;
  for (const auto& p : inputs("corpus", target)) {
    const auto bytes = read(p);
    const RunSummary s = run(bytes.data(), bytes.size());
    total.established += s.established;
    total.bytes_sent += s.bytes_sent;
    total.replies += s.replies;
    total.tso_frames += s.tso_frames;
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

  TEST_CASE("the seeds still establish connections, move data, get replies and reach TSO") {
    // The captured conversations only work while tools/pcap2corpus.py and the targets agree on
    // the formats and the ISS, and the config seeds only reach TSO while the config byte and the
    // offload path work: this notices when they drift apart.
    for (const auto& f : kFloors) {
      CAPTURE(f.target);
      const RunSummary s = sum_over_corpus(f.target, f.run);
      CHECK(s.established >= f.min.established);
      CHECK(s.bytes_sent >= f.min.bytes_sent);
      CHECK(s.replies >= f.min.replies);
      CHECK(s.tso_frames >= f.min.tso_frames);
    }
  }
}

}  // namespace
}  // namespace tapsrv::fuzz
