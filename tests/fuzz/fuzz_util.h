// Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.cc): an input splitter, an independent
// UTF-8 reader to check spans against, invariant checks that abort with a readable message, and
// the filters the targets scan with.
//
// The UTF-8 reader here is written from the Unicode standard (Table 3-7, "maximal subpart"
// convention, which is also Python's errors="replace") and deliberately shares no code with
// lib/utf8.h: the targets check the library's offsets against it.
#ifndef SCRIPTQA_TESTS_FUZZ_FUZZ_UTIL_H_
#define SCRIPTQA_TESTS_FUZZ_FUZZ_UTIL_H_

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"

namespace scriptqa::fuzz {

// Aborts with a message (libFuzzer reports an abort as a crash and saves the input).
#define FUZZ_CHECK(cond, ...)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, \
                   #cond);                                                          \
      std::fprintf(stderr, __VA_ARGS__);                                            \
      std::fprintf(stderr, "\n");                                                   \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

// Known open bugs (docs/reliability.md, "Open") can be skipped by name so that a long fuzzing
// run keeps exploring past them: SCRIPTQA_FUZZ_IGNORE=name1,name2. Each check that guards an
// open bug names itself; every other check is always on.
inline bool Ignored(const char* name) {
  const char* env = std::getenv("SCRIPTQA_FUZZ_IGNORE");
  if (env == nullptr) return false;
  std::string_view list(env), n(name);
  for (size_t pos = 0; pos <= list.size();) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    if (list.substr(pos, comma - pos) == n) return true;
    pos = comma + 1;
  }
  return false;
}

// Splits a fuzz input: small integers are taken from the front, the rest is the payload.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), n_(size) {}
  uint8_t Byte() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  // `len` bytes (fewer at the end).
  std::string Bytes(size_t len) {
    len = std::min(len, n_);
    std::string s(reinterpret_cast<const char*>(p_), len);
    p_ += len;
    n_ -= len;
    return s;
  }
  std::string Rest() { return Bytes(n_); }
  size_t remaining() const { return n_; }

 private:
  const uint8_t* p_;
  size_t n_;
};

// The input format of the dictionary and compile targets: byte `sel` (already taken from `in`)
// picks the kind, the term lists' category and severity and two normalisation options; the rest of
// `in` is the file.
inline DictionarySource DictionaryInput(Input& in, uint8_t sel, FilterOptions* o) {
  DictionarySource src;
  src.path = "/nonexistent/fuzz.rules";
  src.content = in.Rest();
  src.kind = static_cast<DictionarySource::Kind>(sel % 3);
  src.category = (sel & 4) ? "ad_law" : "";
  src.severity = static_cast<Severity>((sel >> 3) % 3);
  o->normalization.collapse_repeats = (sel & 32) != 0;
  if (sel & 64) o->normalization.skip_noise = false;
  return src;
}

// Length of the character or maximal invalid subsequence at s[i] (>= 1); *valid says which.
inline size_t Utf8Unit(std::string_view s, size_t i, bool* valid) {
  const auto b = static_cast<unsigned char>(s[i]);
  *valid = true;
  if (b < 0x80) return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b == 0xE0) {
    need = 2, lo = 0xA0;
  } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
    need = 2;
  } else if (b == 0xED) {
    need = 2, hi = 0x9F;
  } else if (b == 0xF0) {
    need = 3, lo = 0x90;
  } else if (b >= 0xF1 && b <= 0xF3) {
    need = 3;
  } else if (b == 0xF4) {
    need = 3, hi = 0x8F;
  } else {
    *valid = false;
    return 1;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      *valid = false;
      return k;
    }
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < lo || c > hi) {
      *valid = false;
      return k;
    }
    lo = 0x80, hi = 0xBF;
  }
  return need + 1;
}

inline bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    bool ok;
    i += Utf8Unit(s, i, &ok);
    if (!ok) return false;
  }
  return true;
}

// Offset of the first invalid sequence, or npos.
inline size_t FirstInvalid(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    bool ok;
    size_t n = Utf8Unit(s, i, &ok);
    if (!ok) return i;
    i += n;
  }
  return std::string_view::npos;
}

// Character index at every byte offset that is a character boundary; -1 elsewhere. Size n+1.
inline std::vector<int64_t> CharIndex(std::string_view s) {
  std::vector<int64_t> idx(s.size() + 1, -1);
  int64_t c = 0;
  size_t i = 0;
  while (i < s.size()) {
    idx[i] = c++;
    bool ok;
    i += Utf8Unit(s, i, &ok);
  }
  idx[s.size()] = c;
  return idx;
}

inline std::string Hex(std::string_view s, size_t limit = 400) {
  std::string out;
  char b[4];
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    std::snprintf(b, sizeof b, "%02x", static_cast<unsigned char>(s[i]));
    out += b;
  }
  if (s.size() > limit) out += "...";
  return out;
}

inline std::string Describe(const Finding& f) {
  return std::string(f.rule_id()) + "@" + std::to_string(f.bytes.begin) + "-" +
         std::to_string(f.bytes.end) + "/" + std::to_string(f.chars.begin) + "-" +
         std::to_string(f.chars.end) + ":" + std::string(SeverityName(f.severity));
}

inline std::string Describe(const std::vector<Finding>& fs) {
  std::string out;
  for (const Finding& f : fs) out += Describe(f) + ";";
  return out;
}

// Rewrite's text stays within MaxRewriteBytes (scanner.h), whatever the suggestions.
inline void CheckRewriteSize(const Rewritten& rw, std::string_view text) {
  FUZZ_CHECK(rw.text.size() <= MaxRewriteBytes(text.size()),
             "Rewrite of %zu bytes gave %zu bytes", text.size(), rw.text.size());
}

// Checks every promise of types.h about one finding of `text`.
inline void CheckFinding(const Finding& f, std::string_view text,
                         const std::vector<int64_t>& chars, const char* where) {
  FUZZ_CHECK(f.rule != nullptr, "%s: finding without rule", where);
  FUZZ_CHECK(f.bytes.begin < f.bytes.end && f.bytes.end <= text.size(),
             "%s: %s: byte span outside the message (size %zu) or empty", where,
             Describe(f).c_str(), text.size());
  FUZZ_CHECK(chars[f.bytes.begin] >= 0 && chars[f.bytes.end] >= 0,
             "%s: %s: byte span not on character boundaries; text %s", where, Describe(f).c_str(),
             Hex(text).c_str());
  FUZZ_CHECK(static_cast<int64_t>(f.chars.begin) == chars[f.bytes.begin] &&
                 static_cast<int64_t>(f.chars.end) == chars[f.bytes.end],
             "%s: %s: character span disagrees with byte span (expected %lld-%lld); text %s",
             where, Describe(f).c_str(), static_cast<long long>(chars[f.bytes.begin]),
             static_cast<long long>(chars[f.bytes.end]), Hex(text).c_str());
  FUZZ_CHECK(f.text.data() == text.data() + f.bytes.begin && f.text.size() == f.bytes.size(),
             "%s: %s: text does not view the message span", where, Describe(f).c_str());
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot open %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs `body` in a forked child with a 2 GiB address-space limit (none under ASan, whose shadow
// memory needs more), so that a test of a memory bound fails instead of exhausting the machine.
// Returns "" when the child exited with 0 (what `body` returns is its exit code), else how it
// ended: "the child ended with exit code N" or "... with signal N" (out of memory: a signal).
inline std::string RunInBoundedChild(const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
    rlimit as{size_t{2} << 30, size_t{2} << 30};
    setrlimit(RLIMIT_AS, &as);
#endif
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  return WIFSIGNALED(status) ? "the child ended with signal " + std::to_string(WTERMSIG(status))
                             : "the child ended with exit code " +
                                   std::to_string(WEXITSTATUS(status));
}

inline std::shared_ptr<const Filter> MustLoad(absl::StatusOr<std::shared_ptr<const Filter>> f,
                                              const char* what) {
  if (!f.ok()) {
    std::fprintf(stderr, "%s does not load: %s\n", what, std::string(f.status().message()).c_str());
    std::abort();
  }
  return *f;
}

// The shipped packs (the rules a deployment runs): the database the build compiled from them
// when there is one (tests/CMakeLists.txt), else compiled here.
inline std::shared_ptr<const Filter> DefaultFilter() {
  static std::shared_ptr<const Filter> f = [] {
#ifdef SCRIPTQA_DEFAULT_DB
    if (std::FILE* probe = std::fopen(SCRIPTQA_DEFAULT_DB, "rb")) {
      std::fclose(probe);
      return MustLoad(Filter::LoadFile(SCRIPTQA_DEFAULT_DB), SCRIPTQA_DEFAULT_DB);
    }
#endif
    return MustLoad(Filter::Default(), "default packs");
  }();
  return f;
}

// tests/testdata/core_test.rules: every kind of statement, small.
inline std::shared_ptr<const Filter> CoreFilter(const FilterOptions& options = {}) {
  return MustLoad(
      Filter::FromDictionaries(
          {DictionarySource::Text("core_test.rules",
                                  ReadFile(std::string(SCRIPTQA_TESTDATA_DIR) + "/core_test.rules"))},
          options),
      "core_test.rules");
}

// Characters the default normalisation skips entirely (white space, punctuation, symbols, emoji,
// controls, format characters, an invalid byte that reads as U+FFFD). A message made only of
// these normalises to nothing and can have no finding.
inline const std::vector<std::string>& NoiseCharacters() {
  static const std::vector<std::string> k = {
      " ", "\t", "\n", "\r", std::string(1, '\0'), "\x01", "\x7f", ",", ".", "!", "?", "-", "_",
      "*", "#", "~", "^", "(", ")", "[", "]", "{", "}", "/", "\\", "|", ":", ";", "'", "\"", "<",
      ">", "+", "=", "&", "$", "`",
      "\xe3\x80\x80",      // U+3000 ideographic space
      "\xc2\xa0",          // U+00A0
      "\xef\xbc\x8c",      // ，
      "\xe3\x80\x82",      // 。
      "\xef\xbc\x81",      // ！
      "\xef\xbc\x9f",      // ？
      "\xe2\x80\xa6",      // …
      "\xe3\x80\x81",      // 、
      "\xe3\x80\x90",      // 【
      "\xe3\x80\x91",      // 】
      "\xe3\x80\x8a",      // 《
      "\xe3\x80\x8b",      // 》
      "\xe2\x80\x94",      // —
      "\xef\xbf\xa5",      // ￥
      "\xf0\x9f\x98\x80",  // 😀
      "\xf0\x9f\x91\x8d",  // 👍
      "\xf0\x9f\x8f\xbb",  // skin tone
      "\xe2\x80\x8b",      // ZWSP
      "\xe2\x80\x8d",      // ZWJ
      "\xef\xbb\xbf",      // BOM / ZWNBSP
      "\xef\xb8\x8f",      // VS16
      "\xc2\xad",          // soft hyphen
      "\xe2\x81\xa0",      // word joiner
      "\xff",              // invalid byte (U+FFFD)
      "\xef\xbf\xbd",      // U+FFFD itself
  };
  return k;
}

}  // namespace scriptqa::fuzz

#endif  // SCRIPTQA_TESTS_FUZZ_FUZZ_UTIL_H_
