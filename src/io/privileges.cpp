#include "tapsrv/io/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <system_error>

namespace tapsrv::io {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), "dropping privileges: " + what);
}

}  // namespace

void drop_privileges(const std::string& user) {
  if (::geteuid() != 0 || user == "root") { return; }
  errno = 0;
  const passwd* pw = ::getpwnam(user.c_str());
  if (pw == nullptr) {
    if (errno == 0) { errno = ENOENT; }
    fail("no user " + user + " (choose one with --user)");
  }
  // Order matters: groups and gid while still root, the uid last. A setuid() away from root
  // with keep-caps off clears the permitted, effective and ambient capability sets.
  if (::setgroups(1, &pw->pw_gid) != 0) { fail("setgroups"); }
  if (::setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0) { fail("setresgid"); }
  if (::setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) { fail("setresuid"); }
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) { fail("PR_SET_NO_NEW_PRIVS"); }
  // Belt and braces: a kernel or setup that kept root must not pass silently.
  if (::setuid(0) == 0) {
    errno = EPERM;
    fail("root could be regained");
  }
}

std::string effective_capabilities() {
  std::ifstream status{"/proc/self/status"};
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) { return line.substr(line.find_first_not_of(" \t", 7)); }
  }
  return "unknown";
}

}  // namespace tapsrv::io
