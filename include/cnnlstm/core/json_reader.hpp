#pragma once
// Strict reading of JSON objects (configuration files, model metadata): every key must be known,
// every value of the right type and range, and errors name the key with its path, e.g.
//   config.json: key "model.lstm.hiden_size" is not known (did you mean "hidden_size"?)

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "errors.hpp"

namespace cnnlstm {

// Levenshtein distance, for did-you-mean suggestions.
inline std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

inline std::string lower_case(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The closest of `known` to `word` (ignoring case), or "" when nothing is close.
inline std::string closest_match(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& k : known) {
    const std::size_t d = edit_distance(lower_case(word), lower_case(k));
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  return best;
}

// Parses JSON text, refusing a key given twice in one object: nlohmann keeps the last value
// silently, so {"lr": 0.001, "lr": 10} would train with 10 while the file seems to say 0.001.
// Errors are ConfigErrors prefixed `where`, naming the key with its path ("model.lstm.layers").
inline nlohmann::json parse_json_strict(const std::string& text, const std::string& where) {
  struct Level {
    std::set<std::string> keys;
    std::string key;  // the last key seen at this level, for the path of nested objects
  };
  std::vector<Level> levels;
  std::string duplicate;
  const auto path = [&](const std::string& key) {
    std::string p;
    for (std::size_t i = 0; i + 1 < levels.size(); ++i) p += levels[i].key + ".";
    return p + key;
  };
  const auto note = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) levels.emplace_back();
    if (event == Event::object_end && !levels.empty()) levels.pop_back();
    if (event == Event::key && !levels.empty()) {
      const auto key = parsed.get<std::string>();
      if (!levels.back().keys.insert(key).second && duplicate.empty()) duplicate = path(key);
      levels.back().key = key;
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, note);
  } catch (const nlohmann::json::exception& e) {  // syntax, or a number out of range (1e999)
    throw ConfigError(where + ": not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) throw ConfigError(where + ": key \"" + duplicate + "\" is given twice");
  return j;
}

// Reads the fields of one JSON object; finish() rejects keys nobody asked for.
class JsonObjectReader {
 public:
  // `where` prefixes messages (a file name); `path` is the object's key path ("" at the top).
  JsonObjectReader(const nlohmann::json& object, std::string where, std::string path = "")
      : object_(object), where_(std::move(where)), path_(std::move(path)) {
    if (!object_.is_object())
      throw ConfigError(where_ + ": " + (path_.empty() ? "the document" : "\"" + path_ + "\"") +
                        " must be a JSON object, got " + object_.type_name());
  }

  bool has(const std::string& key) {
    known_.push_back(key);
    return object_.contains(key) && !object_.at(key).is_null();
  }

  // Reads `key` into `out` if present (out keeps its default otherwise).
  template <class V>
  void read(const std::string& key, V& out) {
    if (!has(key)) return;
    out = convert<V>(object_.at(key), key);
  }

  // Reads a number, or a list of numbers, and checks lo <= value <= hi for each (open bounds
  // with the flags).
  template <class V>
  void read(const std::string& key, V& out, double lo, double hi, bool lo_open = false,
            bool hi_open = false) {
    if (!has(key)) return;
    const V value = convert<V>(object_.at(key), key);
    const auto check = [&](double v) {
      const bool ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
      if (!ok)
        throw ConfigError(where_ + ": key \"" + full(key) + "\" must be in " + (lo_open ? "(" : "[") +
                          number(lo) + ", " + number(hi) + (hi_open ? ")" : "]") + ", got " + number(v));
    };
    if constexpr (std::is_arithmetic_v<V>)
      check(static_cast<double>(value));
    else
      for (const auto& element : value) check(static_cast<double>(element));
    out = value;
  }

  JsonObjectReader child(const std::string& key) {
    known_.push_back(key);
    return JsonObjectReader(object_.at(key), where_, full(key));
  }

  // Throws unless `key` is present and not null.
  void require(const std::string& key) {
    if (!has(key)) throw ConfigError(where_ + ": key \"" + full(key) + "\" is missing");
  }

  // The list of objects under `key` (none if absent), a reader for each: "key[i]" in messages.
  std::vector<JsonObjectReader> objects(const std::string& key) {
    if (!has(key)) return {};
    const nlohmann::json& list = object_.at(key);
    if (!list.is_array())
      throw ConfigError(where_ + ": key \"" + full(key) + "\" must be a list, got " + list.dump());
    std::vector<JsonObjectReader> readers;
    for (std::size_t i = 0; i < list.size(); ++i)
      readers.emplace_back(list[i], where_, full(key) + "[" + std::to_string(i) + "]");
    return readers;
  }

  // Throws for the first key that was never asked for, suggesting the closest known one.
  void finish() const {
    for (const auto& item : object_.items()) {
      if (std::find(known_.begin(), known_.end(), item.key()) != known_.end()) continue;
      const std::string hint = closest_match(item.key(), known_);
      throw ConfigError(where_ + ": key \"" + full(item.key()) + "\" is not known" +
                        (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
    }
  }

  std::string full(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  const std::string& where() const { return where_; }

 private:
  static std::string number(double v) {
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }

  template <class V>
  V convert(const nlohmann::json& value, const std::string& key) const {
    const auto fail = [&](const std::string& expected) {
      return ConfigError(where_ + ": key \"" + full(key) + "\" must be " + expected + ", got " +
                         value.dump());
    };
    if constexpr (std::is_same_v<V, bool>) {
      if (!value.is_boolean()) throw fail("true or false");
      return value.get<bool>();
    } else if constexpr (std::is_integral_v<V>) {
      // Only values V can hold: a wider one must not wrap around (4294967297 is not 1).
      const bool whole = value.is_number_integer() ||
                         (value.is_number_float() && std::floor(value.get<double>()) == value.get<double>() &&
                          std::abs(value.get<double>()) < 9e15);
      if (!whole) throw fail("a whole number");
      if (value.is_number_unsigned()) {
        const auto n = value.get<std::uint64_t>();
        if (std::in_range<V>(n)) return static_cast<V>(n);
      } else {
        const auto n = value.get<std::int64_t>();  // a float here is whole and below 9e15
        if (std::in_range<V>(n)) return static_cast<V>(n);
      }
      throw fail("a whole number from " + std::to_string(std::numeric_limits<V>::min()) + " to " +
                 std::to_string(std::numeric_limits<V>::max()));
    } else if constexpr (std::is_floating_point_v<V>) {
      if (!value.is_number()) throw fail("a number");
      return value.get<V>();
    } else if constexpr (std::is_same_v<V, std::string>) {
      if (!value.is_string()) throw fail("a string");
      return value.get<std::string>();
    } else {  // std::vector of numbers
      if (!value.is_array()) throw fail("a list");
      V out;
      for (const auto& element : value) out.push_back(convert<typename V::value_type>(element, key));
      return out;
    }
  }

  const nlohmann::json& object_;
  std::string where_, path_;
  std::vector<std::string> known_;
};

}  // namespace cnnlstm
