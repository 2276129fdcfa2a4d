// What the commands of `amx` share (src/cli/): the JSON type, exit codes, the --json switch, and
// how an error is reported (the problem in words and the fix; as JSON too under --json).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "amx/handler/handler.hpp"

namespace amx::tool {

using json = nlohmann::ordered_json;
using L = amx::ControlLayout<amx::DefaultGeometry>;

enum Exit : int { OK = 0, VIOLATIONS = 1, FAILED = 2, USAGE = 3 };

inline bool g_json = false;  // --json: every command prints one JSON document on stdout

std::string file_of(const std::string& name);  // /dev/shm/amx.NAME
std::string octal(std::uint64_t mode);         // 0644
// Prints the problem and its fix (stderr; and a JSON error under --json); returns `code`.
int fail_with(const std::string& what, const std::string& fix, int code = FAILED);
int fail_with(const amx::Error& e, const std::string& name);
void emit(const json& j);

int cmd_list();              // list.cpp
int cmd_demo(double seconds);  // demo.cpp

}  // namespace amx::tool
