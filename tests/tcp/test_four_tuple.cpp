// The connection-table hash is keyed (SipHash-2-4): a peer that does not know the key cannot
// choose 4-tuples that share a bucket.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <set>
#include <vector>

#include "tapsrv/tcp/four_tuple.hpp"

namespace tapsrv::test {
namespace {

using tcp::FourTuple;
using tcp::FourTupleHash;

FourTuple tuple(std::uint16_t remote_port) {
  return FourTuple{.remote_ip = wire::Ipv4Addr::from_octets(10, 0, 0, 1),
                   .remote_port = remote_port,
                   .local_ip = wire::Ipv4Addr::from_octets(10, 0, 0, 2),
                   .local_port = 80};
}

FourTupleHash::Key key(std::uint8_t seed) {
  FourTupleHash::Key k{};
  for (std::size_t i = 0; i < k.size(); ++i) { k[i] = static_cast<std::uint8_t>(seed * 31 + i); }
  return k;
}

TEST_SUITE("tcp.four_tuple") {
  TEST_CASE("the hash depends on the key, and only on the key and the tuple") {
    const FourTupleHash a{key(1)};
    const FourTupleHash a_again{key(1)};
    const FourTupleHash b{key(2)};
    std::size_t differ = 0;
    for (std::uint16_t port = 1000; port < 1256; ++port) {
      CHECK(a(tuple(port)) == a_again(tuple(port)));
      if (a(tuple(port)) != b(tuple(port))) { ++differ; }
    }
    CHECK(differ == 256);  // 64-bit outputs: an equal pair would be a 2^-56 event
    // One bit of the key changes the hash too.
    FourTupleHash::Key k = key(1);
    k[15] ^= 1;
    CHECK(FourTupleHash{k}(tuple(1000)) != a(tuple(1000)));
  }

  TEST_CASE("which tuples share a bucket changes with the key") {
    // Tuples that collide in 1024 buckets under one key are spread under another, so a
    // collision set found against one tapsrv is useless against the next.
    constexpr std::size_t kBuckets = 1024;
    const FourTupleHash a{key(3)};
    const FourTupleHash b{key(4)};
    std::vector<FourTuple> same_bucket;
    const std::size_t target = a(tuple(0)) % kBuckets;
    for (std::uint32_t port = 0; port < 65536 && same_bucket.size() < 32; ++port) {
      const auto t = tuple(static_cast<std::uint16_t>(port));
      if (a(t) % kBuckets == target) { same_bucket.push_back(t); }
    }
    REQUIRE(same_bucket.size() == 32);
    std::set<std::size_t> buckets_b;
    for (const auto& t : same_bucket) { buckets_b.insert(b(t) % kBuckets); }
    CHECK(buckets_b.size() >= 28);  // 32 random draws from 1024 rarely repeat more than twice
  }

  TEST_CASE("ports spread evenly under a key") {
    constexpr std::size_t kBuckets = 4096;
    const FourTupleHash h{key(5)};
    std::vector<unsigned> load(kBuckets);
    for (std::uint32_t port = 0; port < 65536; ++port) {
      ++load[h(tuple(static_cast<std::uint16_t>(port))) % kBuckets];
    }
    // 16 per bucket on average; a balls-in-bins maximum stays far below a chain of hundreds.
    CHECK(*std::max_element(load.begin(), load.end()) <= 40);
  }
}

}  // namespace
}  // namespace tapsrv::test
