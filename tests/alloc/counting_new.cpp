// Replaces the global allocation functions with counting ones, for this test binary only (the
// unit tests keep the sanitizers' own), so a test can assert that a path allocates nothing.
#include "alloc/counting_new.hpp"

#include <cstdlib>
#include <new>

namespace tapsrv::test {
std::size_t g_allocations = 0;
}  // namespace tapsrv::test

void* operator new(std::size_t n) {
  ++tapsrv::test::g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) { return p; }
  throw std::bad_alloc{};
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
