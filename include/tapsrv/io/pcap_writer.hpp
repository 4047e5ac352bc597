// Every frame in and out, in the classic pcap format that tcpdump and Wireshark read
// (LINKTYPE_ETHERNET, microsecond timestamps).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "tapsrv/wire/bytes.hpp"

namespace tapsrv::io {

class PcapWriter {
 public:
  /// Creates or truncates `path` and writes the file header. Throws std::system_error.
  explicit PcapWriter(const std::string& path, std::uint32_t snaplen = 65535);
  /// Appends one frame stamped with the wall clock. Write errors are counted, not thrown.
  void write(wire::Bytes frame) noexcept;
  void flush() noexcept;
  [[nodiscard]] std::uint64_t errors() const noexcept { return errors_; }

 private:
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file_;
  std::uint32_t snaplen_;
  std::uint64_t errors_ = 0;
};

}  // namespace tapsrv::io
