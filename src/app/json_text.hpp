// JSON string literals (RFC 8259 §7): the one piece of JSON that needs care.
#pragma once

#include <string>
#include <string_view>

namespace tapsrv::app {

/// Appends `s` as a quoted JSON string: '"' and '\\' escaped, control characters as \uXXXX
/// (\n, \t, \r, \b, \f by name), bytes of 0x80 and above copied (the text is UTF-8).
void append_json_string(std::string& out, std::string_view s);

}  // namespace tapsrv::app
