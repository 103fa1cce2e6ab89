#pragma once
// Command-line flags of the soc program: each subcommand declares its flags with a help line;
// parsing rejects unknown flags (with a did-you-mean), missing values and malformed numbers,
// naming the flag.

#include <cnnlstm/core/errors.hpp>
#include <cnnlstm/core/json_reader.hpp>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace soc {

// A mistake in how the program was called: exit code 2.
class UsageError : public cnnlstm::ConfigError {
 public:
  using ConfigError::ConfigError;
};

struct Flag {
  std::string name;       // without the dashes: "epochs"
  std::string value;      // placeholder for the help ("N"), empty for a switch
  std::string help;
  bool repeatable = false;
};

class CommandLine {
 public:
  CommandLine(std::string command, std::string summary, std::vector<Flag> flags)
      : command_(std::move(command)), summary_(std::move(summary)), flags_(std::move(flags)) {
    flags_.push_back({"help", "", "show this help and exit"});
  }

  // Parses argv after the subcommand. Returns false when --help was given (help printed).
  bool parse(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg.rfind("--", 0) != 0) throw UsageError(command_ + ": unexpected argument '" + arg + "'" + see_help());
      std::string name = arg.substr(2), value;
      const auto eq = name.find('=');
      const bool inline_value = eq != std::string::npos;
      if (inline_value) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      const Flag& flag = find(name);
      if (flag.value.empty()) {
        if (inline_value) throw UsageError(command_ + ": --" + name + " takes no value");
        values_[name].push_back("");
        continue;
      }
      if (!inline_value) {
        if (i + 1 >= args.size())
          throw UsageError(command_ + ": --" + name + " needs a value (" + flag.value + ")");
        value = args[++i];
      }
      if (!flag.repeatable && values_.count(name))
        throw UsageError(command_ + ": --" + name + " is given twice");
      values_[name].push_back(value);
    }
    if (has("help")) {
      print_help();
      return false;
    }
    return true;
  }

  bool has(const std::string& name) const { return values_.count(name) > 0; }

  std::string text(const std::string& name, const std::string& fallback = "") const {
    return has(name) ? values_.at(name).front() : fallback;
  }
  std::vector<std::string> all(const std::string& name) const {
    return has(name) ? values_.at(name) : std::vector<std::string>{};
  }
  std::string required(const std::string& name) const {
    if (!has(name)) throw UsageError(command_ + ": --" + name + " is required" + see_help());
    return text(name);
  }

  std::optional<long long> integer(const std::string& name, long long lo, long long hi) const {
    if (!has(name)) return std::nullopt;
    const std::string s = text(name);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size())
      throw UsageError(command_ + ": --" + name + " must be a whole number, got '" + s + "'");
    if (v < lo || v > hi)
      throw UsageError(command_ + ": --" + name + " must be in [" + std::to_string(lo) + ", " +
                       std::to_string(hi) + "], got " + s);
    return v;
  }

  // A finite number with lo <= value (or lo < value when lo_open) and value < hi_limit.
  std::optional<double> number(const std::string& name, double lo, double hi, bool lo_open = false,
                               bool hi_open = false) const {
    if (!has(name)) return std::nullopt;
    const std::string s = text(name);
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size() || !std::isfinite(v))
      throw UsageError(command_ + ": --" + name + " must be a number, got '" + s + "'");
    const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (!ok)
      throw UsageError(command_ + ": --" + name + " must be in " + (lo_open ? "(" : "[") + trim(lo) + ", " +
                       trim(hi) + (hi_open ? ")" : "]") + ", got " + s);
    return v;
  }

  void print_help() const;

 private:
  static std::string trim(double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  std::string see_help() const { return " (see soc " + command_ + " --help)"; }

  const Flag& find(const std::string& name) const {
    for (const Flag& f : flags_)
      if (f.name == name) return f;
    std::vector<std::string> names;
    for (const Flag& f : flags_) names.push_back(f.name);
    const std::string hint = cnnlstm::closest_match(name, names);
    throw UsageError(command_ + ": unknown flag --" + name +
                     (hint.empty() ? "" : " (did you mean --" + hint + "?)") + see_help());
  }

  std::string command_, summary_;
  std::vector<Flag> flags_;
  std::map<std::string, std::vector<std::string>> values_;
};

inline void CommandLine::print_help() const {
  std::cout << "usage: soc " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const Flag& f : flags_) {
    std::string left = "  --" + f.name + (f.value.empty() ? "" : " " + f.value);
    left.resize(std::max<std::size_t>(left.size() + 2, 32), ' ');
    std::cout << left << f.help << (f.repeatable ? " (repeatable)" : "") << "\n";
  }
}

// "--series a b c" (a shell glob) -> "--series a --series b --series c", for each of `flags`.
inline std::vector<std::string> spread_values(const std::vector<std::string>& args, const std::vector<std::string>& flags) {
  std::vector<std::string> out;
  std::string list;  // the flag whose values are being read, "" if none
  for (const auto& arg : args) {
    if (arg.rfind("--", 0) == 0) {
      list.clear();
      for (const auto& flag : flags)
        if (arg == flag || arg.rfind(flag + "=", 0) == 0) list = flag;
    } else if (!list.empty() && out.back() != list) {
      out.push_back(list);
    }
    out.push_back(arg);
  }
  return out;
}

}  // namespace soc
