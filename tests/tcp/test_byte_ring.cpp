// The ring behind every connection buffer: growth on demand, wrap-around, out-of-order writes.
#include <doctest/doctest.h>

#include <vector>

#include "tapsrv/tcp/byte_ring.hpp"

namespace tapsrv::tcp {
namespace {

std::vector<std::byte> seq_bytes(std::size_t n, std::size_t from) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) { v[i] = static_cast<std::byte>((from + i) * 7); }
  return v;
}

std::vector<std::byte> read_all(const ByteRing& r) {
  std::vector<std::byte> out;
  while (out.size() < r.size()) {
    const auto run = r.contiguous_at(out.size(), r.size() - out.size());
    out.insert(out.end(), run.begin(), run.end());
  }
  return out;
}

}  // namespace

TEST_SUITE("tcp.byte_ring") {
  TEST_CASE("storage starts empty and grows only as bytes arrive, up to the capacity") {
    ByteRing r{64 * 1024};
    CHECK(r.allocated() == 0);
    CHECK(r.push(seq_bytes(100, 0)) == 100);
    CHECK(r.allocated() == 4096);
    CHECK(r.push(seq_bytes(10000, 100)) == 10000);
    CHECK(r.allocated() == 16384);
    CHECK(r.push(seq_bytes(100000, 10100)) == 64 * 1024 - 10100);  // bounded by capacity
    CHECK(r.allocated() == 64 * 1024);
    CHECK(read_all(r) == seq_bytes(64 * 1024, 0));
  }

  TEST_CASE("bytes keep their order across wrap-around and growth") {
    ByteRing r{32 * 1024};
    std::size_t written = 0;
    std::size_t read = 0;
    for (int round = 0; round < 50; ++round) {
      const std::size_t n = 1000 + static_cast<std::size_t>(round) * 37;
      written += r.push(seq_bytes(std::min(n, r.free()), written));
      const std::size_t take = r.size() / 2 + 1;
      const auto all = read_all(r);
      CHECK(std::equal(all.begin(), all.end(), seq_bytes(all.size(), read).begin()));
      r.consume(take);
      read += take;
    }
  }

  TEST_CASE("out-of-order bytes beyond size() survive the ring emptying and growing") {
    // The regression: consume() to empty used to reset the head to 0, which moved every byte
    // already written past size() (reassembly data) out from under its offset.
    ByteRing r{64 * 1024};
    r.push(seq_bytes(3000, 0));                      // in order, unread
    r.write_at(3000 + 2000, seq_bytes(1000, 5000));  // arrived early, past a 2000-byte hole
    r.consume(3000);                                 // the application reads: the ring is empty
    r.write_at(0, seq_bytes(2000, 3000));            // the hole is filled...
    r.write_at(3000, seq_bytes(20000, 6000));        // ...and more follows, forcing growth
    r.commit(23000);
    CHECK(read_all(r) == seq_bytes(23000, 3000));
  }

  TEST_CASE("empty writes to a ring with no storage yet are no-ops, not a division by zero") {
    // The regression: write_at() took (head + off) % storage before looking at the length, and
    // storage is 0 until the first byte arrives (an empty segment, or an empty push()).
    ByteRing r{64 * 1024};
    r.write_at(0, {});
    r.write_at(5000, {});
    CHECK(r.push({}) == 0);
    CHECK(r.allocated() == 0);
    CHECK(r.size() == 0);
    CHECK(r.contiguous_at(0, 100).empty());
    r.consume(0);
    // ... and after storage was released again.
    CHECK(r.push(seq_bytes(10, 0)) == 10);
    r.consume(10);
    r.release();
    CHECK(r.allocated() == 0);
    r.write_at(0, {});
    CHECK(r.push({}) == 0);
    CHECK(r.push(seq_bytes(3, 10)) == 3);
    CHECK(read_all(r) == seq_bytes(3, 10));
  }
}

}  // namespace tapsrv::tcp
