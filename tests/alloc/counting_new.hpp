// Heap allocations made through operator new since the program started (tests/alloc only).
#pragma once

#include <cstddef>

namespace tapsrv::test {
extern std::size_t g_allocations;
}  // namespace tapsrv::test
