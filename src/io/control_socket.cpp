#include "tapsrv/io/control_socket.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace tapsrv::io {
namespace {

[[noreturn]] void fail(int err, const std::string& message) {
  throw std::system_error(err, std::generic_category(), message);
}

std::optional<sockaddr_un> address_of(const std::string& path) noexcept {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof a.sun_path) { return std::nullopt; }
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

int connect_to(int fd, const sockaddr_un& a) noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  return ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a);
}

// Whether a process listens on the socket file at `a`: a non-blocking connect succeeds, or
// finds its backlog full (EAGAIN). ECONNREFUSED means the file outlived its server.
bool is_live(const sockaddr_un& a) {
  UniqueFd probe{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!probe.valid()) { fail(errno, "control socket: socket"); }
  if (connect_to(probe.get(), a) == 0) { return true; }
  return errno != ECONNREFUSED && errno != ENOENT;
}

}  // namespace

bool PeerCred::may_control(uid_t self, gid_t group) const noexcept {
  if (uid == 0 || uid == self || gid == group) { return true; }
  return std::find(groups.begin(), groups.end(), group) != groups.end();
}

ControlListener ControlListener::open(const std::string& path, gid_t group) {
  const auto a = address_of(path);
  if (!a) { fail(ENAMETOOLONG, "control socket " + path + ": path too long for a Unix socket"); }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      fail(EEXIST, "control socket " + path + " exists and is not a socket");
    }
    if (is_live(*a)) {
      fail(EADDRINUSE, "control socket " + path +
                           " is in use by a running tapsrv (choose another --ifname or "
                           "--control, or --no-control)");
    }
    // Stale: its tapsrv is gone without removing it (killed, or unprivileged by then).
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      fail(errno, "control socket " + path + ": cannot replace the stale file");
    }
  }
  UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  if (!fd.valid()) { fail(errno, "control socket: socket"); }
  // The file takes the file-system gid and the umask's mode as bind() creates it: no moment
  // in which others may connect, and no chown (which would need CAP_CHOWN).
  const auto old_fsgid = static_cast<gid_t>(::setfsgid(group));
  const mode_t old_umask = ::umask(0117);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API takes sockaddr*
  const int bound = ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&*a), sizeof *a);
  const int bind_errno = errno;
  ::umask(old_umask);
  ::setfsgid(old_fsgid);
  if (bound != 0) { fail(bind_errno, "control socket " + path); }
  ControlListener l{std::move(fd), path};  // from here on, failures remove the file
  if (::lstat(path.c_str(), &st) != 0) { fail(errno, "control socket " + path); }
  // Unprivileged, setfsgid() to a group we are not in changes nothing: try chown.
  if (st.st_gid != group && ::chown(path.c_str(), static_cast<uid_t>(-1), group) != 0) {
    fail(errno, "control socket " + path + ": cannot give it group " + std::to_string(group));
  }
  if (::chmod(path.c_str(), 0660) != 0) { fail(errno, "control socket " + path + ": chmod"); }
  if (::listen(l.fd(), 16) != 0) { fail(errno, "control socket " + path + ": listen"); }
  return l;
}

ControlListener::~ControlListener() { remove(); }

bool ControlListener::remove() noexcept {
  if (path_.empty() || !fd_.valid()) { return true; }
  const bool ok = ::unlink(path_.c_str()) == 0 || errno == ENOENT;
  path_.clear();
  return ok;
}

UniqueFd ControlListener::accept() noexcept {
  return UniqueFd{::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)};
}

UniqueFd remove_after_exit(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) { fail(errno, "control socket " + path); }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) { fail(errno, "control socket: pipe"); }
  UniqueFd keep{p[1]};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    fail(errno, "control socket: fork");
  }
  if (pid > 0) {
    ::close(p[0]);
    return keep;
  }
  // The child: nothing but the pipe (so the TAP and the sockets close with the parent), no
  // capabilities, SIGHUP ignored; SIGINT and SIGTERM stay blocked as the parent's signalfd
  // left them. Only async-signal-safe calls from here on.
  ::dup2(p[0], 3);
  if (::close_range(4, ~0U, 0) != 0) {
    for (int fd = 4; fd < 1024; ++fd) { ::close(fd); }
  }
  const int null = ::open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3 && null >= 0; ++fd) { ::dup2(null, fd); }
  if (null > 2) { ::close(null); }
  ::signal(SIGHUP, SIG_IGN);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  __user_cap_header_struct header{.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  __user_cap_data_struct none[2] = {};
  ::syscall(SYS_capset, &header, none);
  char c = 0;
  while (::read(3, &c, 1) < 0 && errno == EINTR) {}
  struct stat now {};
  if (::lstat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
    ::unlink(path.c_str());
  }
  ::_exit(0);
}

std::optional<PeerCred> peer_credentials(int fd) noexcept {
  ucred c{};
  socklen_t len = sizeof c;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) { return std::nullopt; }
  PeerCred p{.pid = c.pid, .uid = c.uid, .gid = c.gid, .groups = {}};
  // SO_PEERGROUPS (Linux 4.13) answers ERANGE with the size it needs.
  p.groups.resize(64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    len = static_cast<socklen_t>(p.groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p.groups.data(), &len) == 0) {
      p.groups.resize(len / sizeof(gid_t));
      return p;
    }
    if (errno != ERANGE) { break; }
    p.groups.resize(len / sizeof(gid_t) + 1);
  }
  p.groups.clear();  // no supplementary groups known: only uid and gid count
  return p;
}

UniqueFd connect_control(const std::string& path, int timeout_ms) noexcept {
  const auto a = address_of(path);
  if (!a) {
    errno = ENAMETOOLONG;
    return {};
  }
  UniqueFd fd{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (!fd.valid()) { return {}; }
  const timeval tv{.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect_to(fd.get(), *a) != 0) { return {}; }
  return fd;
}

IoResult read_some(int fd, std::span<char> buf) noexcept {
  const auto n = ::read(fd, buf.data(), buf.size());
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { return {.n = 0, .would_block = true}; }
  return {.n = n};
}

IoResult write_some(int fd, std::span<const char> buf) noexcept {
  // MSG_NOSIGNAL: a client that went away is an EPIPE, not a SIGPIPE that ends tapsrv.
  const auto n = ::send(fd, buf.data(), buf.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { return {.n = 0, .would_block = true}; }
  return {.n = n};
}

std::vector<std::string> list_sockets(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) { return names; }
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name{e->d_name};
    if (name.size() > 5 && name.ends_with(".sock")) { names.emplace_back(name); }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tapsrv::io
