#include "app/control_client.hpp"

#include <spdlog/fmt/fmt.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "app/control_paths.hpp"
#include "app/control_protocol.hpp"
#include "app/stats_format.hpp"
#include "app/status_format.hpp"
#include "tapsrv/io/control_socket.hpp"

namespace tapsrv::app {
namespace {

constexpr int kTimeoutMs = 10'000;  // per read: a tapsrv that stops answering is "no answer"
constexpr std::size_t kMaxLine = 4096;

/// One-line failure: printed as "tapsrv: error: ..." and exit status 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class LineReader {
 public:
  LineReader(io::UniqueFd fd, std::string path) : fd_{std::move(fd)}, path_{std::move(path)} {}
  /// The next line without its newline; throws Failure at end of file or on an error.
  std::string_view next() {
    for (;;) {
      if (const auto nl = buf_.find('\n', pos_); nl != std::string::npos) {
        const std::string_view line{buf_.data() + pos_, nl - pos_};
        pos_ = nl + 1;
        if (line.starts_with("error ")) {
          throw Failure{"control socket " + path_ + ": " + std::string{line.substr(6)}};
        }
        return line;
      }
      if (buf_.size() - pos_ > kMaxLine) { malformed("line too long"); }
      buf_.erase(0, std::exchange(pos_, 0));  // only between reads: lines stay O(1) each
      char chunk[65536];
      const auto n = ::read(fd_.get(), chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) { continue; }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        throw Failure{"control socket " + path_ + ": tapsrv did not answer within " +
                      std::to_string(kTimeoutMs / 1000) + " s"};
      }
      if (n < 0) { throw Failure{"control socket " + path_ + ": " + std::strerror(errno)}; }
      if (n == 0) { malformed("the answer ended early"); }
      buf_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  [[noreturn]] void malformed(std::string_view why) const {
    throw Failure{"control socket " + path_ + ": malformed answer: " + std::string{why}};
  }

 private:
  io::UniqueFd fd_;
  std::string path_;
  std::string buf_;
  std::size_t pos_ = 0;  // start of what next() has not returned yet
};

struct Hello {
  std::string version;
  std::string interface;
};

LineReader ask(const ClientOptions& o, const Request& r, Hello& hello) {
  const auto path = find_control_socket(o.ifname, o.control);
  if (!path) { throw Failure{path.error().message}; }
  io::UniqueFd fd = io::connect_control(*path, kTimeoutMs);
  if (!fd.valid()) {
    const int err = errno;
    if (err == EACCES || err == EPERM) {
      throw Failure{"control socket " + *path +
                    ": access refused (root, tapsrv's user and its --control-group only)"};
    }
    if (err == ECONNREFUSED || err == ENOENT) {
      throw Failure{"control socket " + *path + ": no tapsrv answers (" + std::strerror(err) + ")"};
    }
    throw Failure{"control socket " + *path + ": " + std::strerror(err)};
  }
  const auto req = request_line(r);
  // A tapsrv that refuses us may have answered and closed before the request went out (EPIPE):
  // its one line is still there to read.
  if (const auto w = io::write_some(fd.get(), req);
      w.n != static_cast<long>(req.size()) && errno != EPIPE && errno != ECONNRESET) {
    throw Failure{"control socket " + *path + ": cannot send the request: " + std::strerror(errno)};
  }
  LineReader reader{std::move(fd), *path};
  const auto first = reader.next();
  const auto version = field(first, "version");
  const auto interface = field(first, "interface");
  if (!first.starts_with(kControlHello) || !version || !interface) {
    reader.malformed("not a tapsrv control socket");
  }
  hello = Hello{std::string{*version}, std::string{*interface}};
  return reader;
}

/// Output in big writes: a status of a million rows must not cost a million fwrite calls.
class Output {
 public:
  explicit Output(std::FILE* f) : f_{f} {}
  ~Output() { flush(); }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  void put(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= 64 * 1024) { flush(); }
  }
  void flush() {
    std::fwrite(buf_.data(), 1, buf_.size(), f_);
    std::fflush(f_);
    buf_.clear();
  }

 private:
  std::FILE* f_;
  std::string buf_;
};

int status(const ClientOptions& o, std::FILE* file) {
  Hello hello;
  auto reader = ask(o, Request{.kind = Request::Kind::Status, .state = o.state}, hello);
  Output out{file};
  std::vector<ListenerEntry> listeners;
  bool begun = false, first = true;
  const auto begin = [&] {
    if (begun) { return; }
    begun = true;
    out.put(o.json ? json_begin(hello.version, hello.interface, listeners) : table_header());
  };
  for (;;) {
    const auto line = reader.next();
    const auto space = line.find(' ');
    const auto kind = line.substr(0, space);
    const auto rest = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    if (kind == "listener") {
      const auto local = field(rest, "local");
      const auto service = field(rest, "service");
      if (begun || !local || !service) { reader.malformed("bad listener line"); }
      listeners.push_back({std::string{*local}, std::string{*service}});
    } else if (kind == "conn") {
      const auto c = parse_conn_line(rest);
      if (!c) { reader.malformed("bad connection line"); }
      begin();
      out.put(o.json ? json_connection(*c, std::exchange(first, false)) : table_row(*c));
    } else if (kind == "summary") {
      const auto counts = parse_summary_line(rest);
      if (!counts) { reader.malformed("bad summary line"); }
      if (reader.next() != "end") { reader.malformed("no end after the summary"); }
      begin();
      out.put(o.json ? json_end() : table_footer(listeners, *counts));
      return 0;
    } else {
      reader.malformed("unexpected line '" + std::string{kind} + "'");
    }
  }
}

int stats(const ClientOptions& o, std::FILE* file) {
  Hello hello;
  auto reader = ask(o, Request{.kind = Request::Kind::Stats, .state = {}}, hello);
  StatsSnapshot s;
  for (;;) {
    const auto line = reader.next();
    if (line == "end") { break; }
    const auto a = line.find(' ');
    const auto b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) { reader.malformed("bad counter line"); }
    const auto kind = line.substr(0, a);
    const auto name = line.substr(a + 1, b - a - 1);
    const auto value = parse_u64(line.substr(b + 1));
    if (!value || name.empty() || (kind != "counter" && kind != "drop" && kind != "tx_drop")) {
      reader.malformed("bad counter line");
    }
    auto& into = kind == "counter" ? s.counters : kind == "drop" ? s.drops : s.tx_drops;
    into.push_back({std::string{name}, *value});
  }
  Output out{file};
  out.put(o.prometheus ? stats_prometheus(s) : o.json ? stats_json(s) : stats_text(s));
  return 0;
}

template <class F>
int guarded(F&& f) {
  try {
    return f();
  } catch (const Failure& e) {
    std::fprintf(stderr, "tapsrv: error: %s\n", e.what());
    return 1;
  }
}

}  // namespace

int run_status(const ClientOptions& o, std::FILE* out) {
  return guarded([&] { return status(o, out); });
}

int run_stats(const ClientOptions& o, std::FILE* out) {
  return guarded([&] { return stats(o, out); });
}

}  // namespace tapsrv::app
