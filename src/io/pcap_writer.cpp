#include "tapsrv/io/pcap_writer.hpp"

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <system_error>

namespace tapsrv::io {
namespace {
// Written in host byte order: readers detect the order from the magic number.
struct FileHeader {
  std::uint32_t magic = 0xa1b2c3d4;
  std::uint16_t version_major = 2;
  std::uint16_t version_minor = 4;
  std::int32_t thiszone = 0;
  std::uint32_t sigfigs = 0;
  std::uint32_t snaplen = 0;
  std::uint32_t linktype = 1;  // LINKTYPE_ETHERNET
};
struct RecordHeader {
  std::uint32_t ts_sec;
  std::uint32_t ts_usec;
  std::uint32_t incl_len;
  std::uint32_t orig_len;
};
}  // namespace

PcapWriter::PcapWriter(const std::string& path, std::uint32_t snaplen)
    : file_{std::fopen(path.c_str(), "wbe")}, snaplen_{snaplen} {
  if (!file_) {
    throw std::system_error(errno, std::generic_category(), "cannot write pcap file " + path);
  }
  FileHeader h;
  h.snaplen = snaplen_;
  if (std::fwrite(&h, sizeof h, 1, file_.get()) != 1 || std::fflush(file_.get()) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot write pcap file " + path);
  }
}

void PcapWriter::write(wire::Bytes frame) noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  const auto incl = static_cast<std::uint32_t>(std::min<std::size_t>(frame.size(), snaplen_));
  const RecordHeader r{static_cast<std::uint32_t>(ts.tv_sec),
                       static_cast<std::uint32_t>(ts.tv_nsec / 1000), incl,
                       static_cast<std::uint32_t>(frame.size())};
  if (std::fwrite(&r, sizeof r, 1, file_.get()) != 1 ||
      std::fwrite(frame.data(), 1, incl, file_.get()) != incl) {
    ++errors_;
  }
}

void PcapWriter::flush() noexcept {
  if (std::fflush(file_.get()) != 0) { ++errors_; }
}

}  // namespace tapsrv::io
