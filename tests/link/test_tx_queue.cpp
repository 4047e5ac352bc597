// The transmit queue: buffers reused from batch to batch, and given back after a burst.
#include <doctest/doctest.h>

#include <algorithm>

#include "tapsrv/link/tx_queue.hpp"

namespace tapsrv::link {
namespace {

void batch(TxQueue& q, std::size_t frames, std::size_t len = 1514) {
  for (std::size_t i = 0; i < frames; ++i) {
    auto f = q.push(len);
    std::fill(f.begin(), f.end(), std::byte{0x5a});
  }
  q.clear();
}

TEST_SUITE("link.tx_queue") {
  TEST_CASE("frames come out in order with their offload; later pushes keep spans valid") {
    TxQueue q;
    auto first = q.push(3, TxOffload{.gso_size = 1448});
    first[0] = std::byte{1};
    for (std::size_t i = 0; i < 100; ++i) { (void)q.push(60); }
    first[2] = std::byte{3};  // still the first frame's storage
    REQUIRE(q.size() == 101);
    CHECK(q[0][0] == std::byte{1});
    CHECK(q[0][2] == std::byte{3});
    CHECK(q.offload(0).gso_size == 1448);
    CHECK(q.offload(1).gso_size == 0);
    q.pop_back();
    CHECK(q.size() == 100);
    q.clear();
    CHECK(q.empty());
  }

  TEST_CASE("a burst's buffers are freed once the burst is over") {
    // Regression: the queue kept the largest burst it ever held (5000 x 1.5 KiB here, up to
    // 64 KiB each with TSO) for the rest of the run.
    TxQueue q;
    batch(q, 5000);
    CHECK(q.frames_held() == 5000);
    // The interval that saw the burst keeps it for reuse...
    for (std::size_t i = 0; i + 1 < TxQueue::kTrimInterval; ++i) { batch(q, 3); }
    CHECK(q.frames_held() == 5000);
    // ...and a quiet interval after it gives it back.
    for (std::size_t i = 0; i + 1 < TxQueue::kTrimInterval; ++i) { batch(q, 3); }
    CHECK(q.frames_held() == 5000);
    batch(q, 3);
    CHECK(q.frames_held() == TxQueue::kKeepFrames);
    // Quiet from then on: nothing more is freed or allocated.
    for (std::size_t i = 0; i < 3 * TxQueue::kTrimInterval; ++i) { batch(q, 1); }
    CHECK(q.frames_held() == TxQueue::kKeepFrames);
  }

  TEST_CASE("a steady load larger than kKeepFrames keeps what it uses") {
    TxQueue q;
    constexpr std::size_t kSteady = 200;
    batch(q, 1000);
    for (std::size_t i = 0; i < 2 * TxQueue::kTrimInterval; ++i) {
      batch(q, i % 2 == 0 ? kSteady : 0);
    }
    CHECK(q.frames_held() == kSteady);
  }
}

}  // namespace
}  // namespace tapsrv::link
