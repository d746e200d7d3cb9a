// Helpers shared by the gtest suites (test code only).
#ifndef SCRIPTQA_TESTS_TEST_UTIL_H_
#define SCRIPTQA_TESTS_TEST_UTIL_H_

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scriptqa/scanner.h"

namespace scriptqa::testing {

inline std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fprintf(stderr, "cannot open %s\n", path.c_str());
    abort();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// The shipped packs: the database the build compiled from them (tests/CMakeLists.txt), or
// compiled here when there is none.
inline std::shared_ptr<const Filter> DefaultFilter() {
  static std::shared_ptr<const Filter> filter = []() -> std::shared_ptr<const Filter> {
#ifdef SCRIPTQA_DEFAULT_DB
    if (access(SCRIPTQA_DEFAULT_DB, R_OK) == 0) {
      auto loaded = Filter::LoadFile(SCRIPTQA_DEFAULT_DB);
      if (loaded.ok()) return *loaded;
      fprintf(stderr, "%s does not load (%s): compiling the packs\n", SCRIPTQA_DEFAULT_DB,
              std::string(loaded.status().message()).c_str());
    }
#endif
    std::vector<std::string> paths;
    std::string dir = SCRIPTQA_DICTIONARY_DIR;
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 6 && n.substr(n.size() - 6) == ".rules") paths.push_back(dir + "/" + n);
      }
      closedir(d);
    }
    std::sort(paths.begin(), paths.end());
    auto f = Filter::FromFiles(paths);
    if (!f.ok()) {
      fprintf(stderr, "default packs do not load: %s\n", std::string(f.status().message()).c_str());
      abort();
    }
    return *f;
  }();
  return filter;
}

// The bytes of `s` with everything but printable ASCII as \xNN, for failure messages.
inline std::string PrintableBytes(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

inline std::shared_ptr<const Filter> FilterFromText(const std::string& rules,
                                                    const FilterOptions& options = {}) {
  auto f = Filter::FromDictionaries({DictionarySource::Text("test.rules", rules)}, options);
  if (!f.ok()) {
    fprintf(stderr, "test rules do not load: %s\n", std::string(f.status().message()).c_str());
    abort();
  }
  return *f;
}

// Path of the real corpus when present (../shared/corpus relative to the repository).
inline std::string CorpusPath() {
  std::string p = std::string(SCRIPTQA_DICTIONARY_DIR) + "/../../shared/corpus/jddc_sample_dialogues.jsonl";
  std::ifstream in(p);
  return in ? p : "";
}

// The "text" of the corpus's agent messages (empty when the corpus is absent).
inline std::vector<std::string> CorpusAgentMessages(size_t limit = SIZE_MAX) {
  std::vector<std::string> out;
  std::string path = CorpusPath();
  if (path.empty()) return out;
  std::ifstream in(path);
  std::string line;
  while (out.size() < limit && std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("role", "") == "agent") out.push_back(j.value("text", ""));
  }
  return out;
}

}  // namespace scriptqa::testing

#endif  // SCRIPTQA_TESTS_TEST_UTIL_H_
