// Fast JSON output for the audit's hot path: a growable byte buffer written through a raw pointer
// (std::string's out-of-line append dominated the audit's formatting cost) and a JSON string
// escaper that copies eight bytes at a time until a byte needs escaping.
//
// The escaping is nlohmann::json's dump() with ensure_ascii off, byte for byte: '"' and '\\'
// escaped, \b \f \n \r \t as short escapes, other bytes below 0x20 as \u00xx (lower-case hex),
// everything else (UTF-8, DEL, '/') copied. Callers pass valid UTF-8 (the audit repairs first).
#ifndef SCRIPTQA_TOOLS_CLI_JSONOUT_H_
#define SCRIPTQA_TOOLS_CLI_JSONOUT_H_

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace scriptqa::cli {

// Worst-case size of EscapeJson's output for `n` input bytes, including the quotes and the slack
// its eight-byte stores may touch.
constexpr size_t EscapedBound(size_t n) { return 6 * n + 2 + 8; }

// Writes `s` as a quoted JSON string at `dst`, which must have EscapedBound(s.size()) bytes.
// Returns the end of what it wrote.
inline char* EscapeJson(char* dst, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
  *dst++ = '"';
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      std::memcpy(dst, &w, 8);  // optimistic: most words need no escaping
      // A high bit per byte that is < 0x20, '"' or '\\' (Mycroft's has-zero / has-less tricks;
      // bytes >= 0x80 never trigger them because of the ~w mask).
      uint64_t quote = w ^ (kOnes * '"'), slash = w ^ (kOnes * '\\');
      uint64_t special = ((w - kOnes * 0x20) | (quote - kOnes) | (slash - kOnes)) & ~w & kHigh;
      // has-zero on quote/slash can report false positives only above a true hit, and has-less on
      // w only for bytes above a real borrow: whatever it says, the slow path below is exact.
      if (special == 0) {
        p += 8;
        dst += 8;
        continue;
      }
      // Copy the clean prefix, then handle one byte the slow way.
      size_t clean = static_cast<size_t>(__builtin_ctzll(special)) / 8;
      p += clean;
      dst += clean;
    }
    unsigned char c = static_cast<unsigned char>(*p++);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *dst++ = static_cast<char>(c);
      continue;
    }
    *dst++ = '\\';
    switch (c) {
      case '"': *dst++ = '"'; break;
      case '\\': *dst++ = '\\'; break;
      case '\b': *dst++ = 'b'; break;
      case '\f': *dst++ = 'f'; break;
      case '\n': *dst++ = 'n'; break;
      case '\r': *dst++ = 'r'; break;
      case '\t': *dst++ = 't'; break;
      default:
        std::memcpy(dst, "u00", 3);
        dst[3] = kHex[c >> 4];
        dst[4] = kHex[c & 15];
        dst += 5;
    }
  }
  *dst++ = '"';
  return dst;
}

// Writes through a raw pointer into space claimed beforehand (OutBuffer::Claim with a bound the
// caller computes). A local pointer lets the compiler keep the position in a register; through
// OutBuffer, every char store could alias its size and capacity and forces reloads.
struct JsonCursor {
  char* p;
  template <size_t N>
  void Lit(const char (&s)[N]) {
    std::memcpy(p, s, N - 1);
    p += N - 1;
  }
  void Raw(std::string_view s) {
    if (s.empty()) return;  // s.data() may be null
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void Json(std::string_view s) { p = EscapeJson(p, s); }
  void Uint(uint64_t v) { p = std::to_chars(p, p + 20, v).ptr; }
  void Int(int64_t v) { p = std::to_chars(p, p + 21, v).ptr; }
};

// A byte buffer that grows without zero-filling, for output built record by record.
class OutBuffer {
 public:
  const char* data() const { return p_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {p_.get(), size_}; }
  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > cap_) Grow(n - size_);
  }

  // Room for `n` more bytes; write them through the pointer, then Commit(end).
  char* Claim(size_t n) {
    if (cap_ - size_ < n) Grow(n);
    return p_.get() + size_;
  }
  void Commit(char* end) { size_ = static_cast<size_t>(end - p_.get()); }

  OutBuffer& operator+=(std::string_view s) {
    if (s.empty()) return *this;  // s.data() may be null: no memcpy from it
    char* d = Claim(s.size());
    std::memcpy(d, s.data(), s.size());
    size_ += s.size();
    return *this;
  }
  // A string literal: its length is a constant, so the copy is a few inline moves.
  template <size_t N>
  void Lit(const char (&s)[N]) {
    char* d = Claim(N - 1);
    std::memcpy(d, s, N - 1);
    size_ += N - 1;
  }
  OutBuffer& operator+=(char c) {
    *Claim(1) = c;
    ++size_;
    return *this;
  }
  void push_back(char c) { *this += c; }
  void AppendJson(std::string_view s) { Commit(EscapeJson(Claim(EscapedBound(s.size())), s)); }
  void AppendUint(uint64_t v) {
    char* d = Claim(20);
    Commit(std::to_chars(d, d + 20, v).ptr);
  }
  void AppendInt(int64_t v) {
    char* d = Claim(21);
    Commit(std::to_chars(d, d + 21, v).ptr);
  }

 private:
  __attribute__((noinline, cold)) void Grow(size_t n) {
    size_t cap = std::max(cap_ * 2, size_ + n);
    std::unique_ptr<char[]> q(new char[cap]);
    if (size_ > 0) std::memcpy(q.get(), p_.get(), size_);
    p_ = std::move(q);
    cap_ = cap;
  }

  std::unique_ptr<char[]> p_;
  size_t size_ = 0, cap_ = 0;
};

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_JSONOUT_H_
