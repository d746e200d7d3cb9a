// UTF-8 decoding with the "maximal subpart" error convention (Unicode §3.9, WHATWG, Python's
// errors="replace"): each maximal invalid subsequence is one error, so character counts agree
// with what a Python user sees after bytes.decode("utf-8", "replace").
#ifndef SCRIPTQA_LIB_UTF8_H_
#define SCRIPTQA_LIB_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace scriptqa::internal {

inline constexpr uint32_t kInvalidCp = 0xFFFFFFFFu;

// Decodes the character at p (p < end). Sets *len to the bytes consumed (1–4); returns the code
// point, or kInvalidCp for a maximal invalid subsequence of *len bytes.
inline uint32_t DecodeUtf8(const unsigned char* p, const unsigned char* end, int* len) {
  unsigned c = p[0];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  // Fast path for well-formed 2- and 3-byte sequences (all of CJK); anything unusual falls
  // through to the exact maximal-subpart logic below.
  if ((c & 0xF0) == 0xE0 && end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
    uint32_t cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
      *len = 3;
      return cp;
    }
  } else if ((c & 0xE0) == 0xC0 && c >= 0xC2 && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
    *len = 2;
    return ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  }
  int need;
  unsigned lo = 0x80, hi = 0xBF;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    cp = c & 0x0F;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    cp = c & 0x07;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *len = 1;
    return kInvalidCp;
  }
  const unsigned char* q = p + 1;
  for (int k = 0; k < need; ++k, ++q) {
    if (q >= end || *q < lo || *q > hi) {
      *len = static_cast<int>(q - p);
      return kInvalidCp;
    }
    lo = 0x80;
    hi = 0xBF;
    cp = (cp << 6) | (*q & 0x3F);
  }
  *len = need + 1;
  return cp;
}

inline void AppendUtf8(uint32_t cp, std::string* out) {
  char b[4];
  int n;
  if (cp < 0x80) {
    b[0] = static_cast<char>(cp);
    n = 1;
  } else if (cp < 0x800) {
    b[0] = static_cast<char>(0xC0 | (cp >> 6));
    b[1] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    b[0] = static_cast<char>(0xE0 | (cp >> 12));
    b[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[2] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    b[0] = static_cast<char>(0xF0 | (cp >> 18));
    b[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    b[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[3] = static_cast<char>(0x80 | (cp & 0x3F));
    n = 4;
  }
  out->append(b, n);
}

// Offset of the first invalid byte sequence, or npos when `s` is valid UTF-8.
size_t FindInvalidUtf8(std::string_view s);

// Number of characters (invalid subsequences counting one each) in s.
size_t CountChars(std::string_view s);

// Decodes s into code points (invalid subsequences become U+FFFD).
std::u32string DecodeAll(std::string_view s);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_UTF8_H_
