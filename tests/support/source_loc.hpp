// Where a test helper was called from, for its failure messages. std::source_location needs
// __builtin_source_location, which clang 14 lacks beside libstdc++ 12; __builtin_FILE and
// __builtin_LINE, evaluated as default arguments at the call site, exist in both compilers.
#pragma once

namespace tapsrv::test {

class SourceLoc {
 public:
  static constexpr SourceLoc current(const char* file = __builtin_FILE(),
                                     unsigned line = __builtin_LINE()) noexcept {
    return SourceLoc{file, line};
  }
  [[nodiscard]] constexpr const char* file_name() const noexcept { return file_; }
  [[nodiscard]] constexpr unsigned line() const noexcept { return line_; }

 private:
  constexpr SourceLoc(const char* file, unsigned line) noexcept : file_{file}, line_{line} {}
  const char* file_;
  unsigned line_;
};

}  // namespace tapsrv::test
