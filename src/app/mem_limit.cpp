#include "app/mem_limit.hpp"

#include <charconv>

namespace tapsrv::app {

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
// Enough for a few connections' initial buffers; below it nothing useful runs.
constexpr std::uint64_t kMinLimit = kMiB;

std::string text_of_bytes(std::uint64_t n) {
  return n % kMiB == 0 ? std::to_string(n / kMiB) + "M" : std::to_string(n);
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  unsigned shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K':
      case 'k': shift = 10; break;
      case 'M':
      case 'm': shift = 20; break;
      case 'G':
      case 'g': shift = 30; break;
      default: break;
    }
  }
  const std::string_view digits = shift == 0 ? text : text.substr(0, text.size() - 1);
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  if (v > (UINT64_MAX >> shift)) { return std::nullopt; }
  return v << shift;
}

std::uint64_t default_mem_limit(std::uint64_t physical_memory) noexcept {
  return std::max(kMinLimit, physical_memory / 32 * 3);
}

Expected<std::uint64_t, std::string> mem_limit_of(const std::optional<std::string>& text,
                                                  std::uint64_t physical_memory) {
  if (!text) { return default_mem_limit(physical_memory); }
  const auto bytes = parse_size(*text);
  const std::uint64_t most = std::max(physical_memory, kMinLimit);
  if (!bytes || *bytes < kMinLimit || *bytes > most) {
    return "invalid --mem-limit '" + *text + "': must be a size like 512M or 2G, 1M to " +
           text_of_bytes(most) + " (the machine's memory)";
  }
  return *bytes;
}

}  // namespace tapsrv::app
