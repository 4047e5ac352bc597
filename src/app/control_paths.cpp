#include "app/control_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tapsrv/io/control_socket.hpp"

namespace tapsrv::app {
namespace {

// A directory we may create sockets in, made with `mode` when missing.
bool usable_dir(const std::string& dir, mode_t mode) {
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) { return false; }
  struct stat st {};
  return ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
         ::access(dir.c_str(), W_OK | X_OK) == 0;
}

std::optional<std::string> xdg_dir() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg == nullptr || *xdg == '\0') { return std::nullopt; }
  return std::string{xdg} + "/tapsrv";
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::vector<std::string> control_dirs() {
  std::vector<std::string> dirs{kRunDir};
  if (auto x = xdg_dir()) { dirs.push_back(*x); }
  return dirs;
}

Expected<std::string, PathError> default_control_path(const std::string& ifname) {
  if (usable_dir(kRunDir, 0755)) { return std::string{kRunDir} + "/" + ifname + ".sock"; }
  const int run_errno = errno;
  if (const auto x = xdg_dir(); x && usable_dir(*x, 0700)) { return *x + "/" + ifname + ".sock"; }
  return PathError{std::string{kRunDir} + ": " + std::strerror(run_errno) +
                   ", and XDG_RUNTIME_DIR gives no alternative"};
}

Expected<std::string, PathError> find_control_socket(const std::optional<std::string>& ifname,
                                                     const std::optional<std::string>& control) {
  if (control) { return *control; }
  const auto dirs = control_dirs();
  std::string where = dirs.front();
  for (std::size_t i = 1; i < dirs.size(); ++i) { where += " or " + dirs[i]; }
  if (ifname) {
    for (const auto& d : dirs) {
      if (const auto p = d + "/" + *ifname + ".sock"; exists(p)) { return p; }
    }
    return PathError{"no control socket for " + *ifname + " in " + where +
                     " (is tapsrv up --ifname " + *ifname + " running?)"};
  }
  // Without a name: the one tapsrv that answers. A file left by a tapsrv that could not
  // remove it (privileges dropped) refuses connections and does not count.
  std::vector<std::string> live;
  std::vector<std::string> names;
  for (const auto& d : dirs) {
    for (const auto& n : io::list_sockets(d)) {
      const auto p = d + "/" + n;
      if (!io::connect_control(p, 1000).valid() && errno == ECONNREFUSED) { continue; }
      live.push_back(p);
      names.push_back(n.substr(0, n.size() - 5));
    }
  }
  if (live.size() == 1) { return live.front(); }
  if (live.empty()) {
    return PathError{"no tapsrv control socket in " + where +
                     " (is tapsrv up running? give -i IFNAME or --control PATH)"};
  }
  std::string list;
  for (const auto& n : names) { list += (list.empty() ? "" : ", ") + n; }
  return PathError{"several tapsrv control sockets (" + list + "): choose one with -i IFNAME"};
}

}  // namespace tapsrv::app
