// The Internet checksum against RFC 1071 vectors, a naive reference, and every way to chunk input.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "support/frames.hpp"
#include "tapsrv/wire/checksum.hpp"

namespace tapsrv::wire {
namespace {

using test::Buffer;
using test::bytes;

// RFC 1071 §1 written out as plainly as possible: 16-bit big-endian words, an odd byte padded
// with zero on the right, end-around carry, complement.
std::uint16_t reference_checksum(Bytes b) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < b.size(); i += 2) {
    const unsigned hi = std::to_integer<unsigned>(b[i]);
    const unsigned lo = i + 1 < b.size() ? std::to_integer<unsigned>(b[i + 1]) : 0;
    sum += (hi << 8) | lo;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

Buffer random_bytes(std::mt19937& rng, std::size_t n) {
  Buffer b(n);
  for (auto& x : b) { x = static_cast<std::byte>(rng() & 0xff); }
  return b;
}

TEST_SUITE("wire.checksum") {
  TEST_CASE("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2") {
    const Buffer b = bytes({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7});
    CHECK(checksum(b) == 0x220d);
    CHECK(reference_checksum(b) == 0x220d);
  }

  TEST_CASE("a captured IPv4 header verifies to zero and recomputes to b861") {
    Buffer h = bytes({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                      0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
    CHECK(checksum(h) == 0);
    h[10] = std::byte{0};
    h[11] = std::byte{0};
    CHECK(checksum(h) == 0xb861);
  }

  TEST_CASE("edge values: empty, all zero, all ones, single bytes") {
    CHECK(checksum(Bytes{}) == 0xffff);
    CHECK(checksum(Buffer(64)) == 0xffff);
    // 0xffff is ones' complement "negative zero": any number of them sums to 0xffff.
    CHECK(checksum(Buffer(64, std::byte{0xff})) == 0x0000);
    CHECK(checksum(Buffer(65535, std::byte{0xff})) ==
          reference_checksum(Buffer(65535, std::byte{0xff})));
    // A lone byte is the high half of a word (RFC 1071 §4.1 pads on the right).
    CHECK(checksum(bytes({0x12})) == static_cast<std::uint16_t>(~0x1200U & 0xffff));
    CHECK(checksum(bytes({0x12, 0x34, 0x56})) ==
          static_cast<std::uint16_t>(~(0x1234U + 0x5600U) & 0xffff));
  }

  TEST_CASE("carries out of bit 15 wrap around, also from 32-bit words") {
    // ff ff | 00 01 → 0x10000 → folds to 0x0001 → ~ = 0xfffe.
    CHECK(checksum(bytes({0xff, 0xff, 0x00, 0x01})) == 0xfffe);
    // ff fe | ff fe | ... eight words: large carries that fold more than once.
    Buffer b(16);
    for (std::size_t i = 0; i < b.size(); i += 2) {
      b[i] = std::byte{0xff};
      b[i + 1] = std::byte{0xfe};
    }
    CHECK(checksum(b) == reference_checksum(b));
  }

  TEST_CASE("storing the checksum makes the buffer verify to zero") {
    std::mt19937 rng{1071};
    for (std::size_t len : {2U, 4U, 20U, 60U, 1500U}) {
      CAPTURE(len);
      Buffer b = random_bytes(rng, len);
      b[0] = std::byte{0};
      b[1] = std::byte{0};
      const auto c = checksum(b);
      store_be16(b, 0, c);
      CHECK(checksum(b) == 0);
    }
  }

  TEST_CASE("matches the naive reference for random lengths 0..300") {
    std::mt19937 rng{42};
    for (std::size_t len = 0; len <= 300; ++len) {
      CAPTURE(len);
      const Buffer b = random_bytes(rng, len);
      CHECK(checksum(b) == reference_checksum(b));
    }
  }

  TEST_CASE("chunked adds, odd lengths included, equal a one-shot add") {
    std::mt19937 rng{7};
    const Buffer b = random_bytes(rng, 97);
    const auto whole = checksum(b);

    SUBCASE("every single split point") {
      for (std::size_t cut = 0; cut <= b.size(); ++cut) {
        CAPTURE(cut);
        Checksum c;
        c.add(Bytes{b}.first(cut)).add(Bytes{b}.subspan(cut));
        CHECK(c.finish() == whole);
      }
    }
    SUBCASE("one byte at a time") {
      Checksum c;
      for (std::size_t i = 0; i < b.size(); ++i) { c.add(Bytes{b}.subspan(i, 1)); }
      CHECK(c.finish() == whole);
    }
    SUBCASE("random chunk sizes, with empty chunks in between") {
      for (int round = 0; round < 200; ++round) {
        Checksum c;
        std::size_t i = 0;
        while (i < b.size()) {
          const std::size_t n = std::min<std::size_t>(rng() % 9, b.size() - i);
          c.add(Bytes{b}.subspan(i, n));
          c.add(Bytes{});
          i += n;
        }
        CHECK(c.finish() == whole);
      }
    }
  }

  TEST_CASE("add_u16 after an odd chunk continues the byte stream") {
    const Buffer b = bytes({0x01, 0x02, 0x03, 0xa1, 0xb2});
    Checksum c;
    c.add(Bytes{b}.first(3)).add_u16(0xa1b2);
    CHECK(c.finish() == checksum(b));
    Checksum even;
    even.add(Bytes{b}.first(2)).add_u16(0x03a1).add(Bytes{b}.subspan(4));
    CHECK(even.finish() == checksum(b));
  }

  TEST_CASE("finish() does not consume: more data may follow") {
    const Buffer b = bytes({0x10, 0x20, 0x30, 0x40});
    Checksum c;
    c.add(Bytes{b}.first(2));
    CHECK(c.finish() == checksum(Bytes{b}.first(2)));
    c.add(Bytes{b}.subspan(2));
    CHECK(c.finish() == checksum(b));
  }

  TEST_CASE("pseudo-header: RFC 768 layout src, dst, zero, protocol, length") {
    // 192.0.2.1 → 198.51.100.2, UDP, length 12, laid out as 12 bytes of wire image.
    const Buffer image =
        bytes({0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02, 0x00, 0x11, 0x00, 0x0c});
    Checksum c;
    c.add_pseudo_header(test::ip(192, 0, 2, 1), test::ip(198, 51, 100, 2), 17, 12);
    CHECK(c.finish() == checksum(image));

    // And it composes with a segment that follows, even an odd-sized one.
    const Buffer seg = bytes({0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 0x61, 0x62, 0x63});
    Checksum d;
    d.add_pseudo_header(test::ip(192, 0, 2, 1), test::ip(198, 51, 100, 2), 17, 12).add(seg);
    CHECK(d.finish() == checksum(test::concat(image, seg)));
  }
}

}  // namespace
}  // namespace tapsrv::wire
