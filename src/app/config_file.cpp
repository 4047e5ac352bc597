#include "app/config_file.hpp"

#include <algorithm>
#include <fstream>

namespace tapsrv::app {

namespace {

bool given_on_command_line(const std::vector<std::string>& args, const std::string& flag) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return a == flag || a.rfind(flag + "=", 0) == 0;
  });
}

}  // namespace

Expected<std::vector<std::string>, std::string> expand_config_file(std::vector<std::string> args,
                                                                   const CLI::App& up) {
  const auto sub = std::find(args.begin(), args.end(), up.get_name());
  if (sub == args.end()) { return args; }
  auto at = std::find_if(sub, args.end(), [](const std::string& a) {
    return a == "--config" || a.rfind("--config=", 0) == 0;
  });
  if (at == args.end()) { return args; }
  std::string path;
  if (*at == "--config") {
    if (at + 1 == args.end()) { return std::string{"--config needs a file"}; }
    path = *(at + 1);
    at = args.erase(at, at + 2);
  } else {
    path = at->substr(std::string{"--config="}.size());
    at = args.erase(at);
  }
  std::ifstream in{path};
  if (!in) { return "--config " + path + ": cannot be read"; }
  std::vector<CLI::ConfigItem> items;
  try {
    items = CLI::ConfigTOML{}.from_config(in);
  } catch (const std::exception& e) { return "--config " + path + ": " + e.what(); }
  std::vector<std::string> from_file;
  for (const auto& item : items) {
    // CLI11 reports a section's start and end as items of their own, named "++" and "--".
    if (item.name == "++" || item.name == "--") { continue; }
    const std::string flag = "--" + item.name;
    if (!item.parents.empty()) {
      return "--config " + path + ": sections are not used, found [" + item.parents.front() + "]";
    }
    const CLI::Option* opt = nullptr;
    try {
      opt = up.get_option(flag);
    } catch (const CLI::OptionNotFound&) {
      return "--config " + path + ": '" + item.name + "' is not an option of tapsrv up";
    }
    if (opt->get_name() == "--config") {
      return "--config " + path + ": a file cannot name another";
    }
    if (given_on_command_line(args, flag)) { continue; }  // the command line wins
    if (opt->get_expected_max() == 0) {  // a flag: true gives it, false leaves it out
      if (item.inputs.size() != 1 || (item.inputs[0] != "true" && item.inputs[0] != "false")) {
        return "--config " + path + ": '" + item.name + "' wants true or false";
      }
      if (item.inputs[0] == "true") { from_file.push_back(flag); }
      continue;
    }
    for (const auto& value : item.inputs) {
      from_file.push_back(flag);
      from_file.push_back(value);
    }
  }
  args.insert(sub + 1, from_file.begin(), from_file.end());
  return args;
}

}  // namespace tapsrv::app
