#include "utf8.h"

namespace scriptqa::internal {

uint32_t DecodeUtf8Slow(const unsigned char* p, const unsigned char* end, int* len) {
  unsigned c = p[0];
  if (c < 0x80) {
    *len = 1;
    return c;
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

size_t FindInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  const auto* begin = p;
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    int len;
    if (DecodeUtf8(p, end, &len) == kInvalidCp) return static_cast<size_t>(p - begin);
    p += len;
  }
  return std::string_view::npos;
}

size_t CountChars(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  size_t n = 0;
  while (p < end) {
    int len = 1;
    if (*p >= 0x80) DecodeUtf8(p, end, &len);
    p += len;
    ++n;
  }
  return n;
}

std::u32string DecodeAll(std::string_view s) {
  std::u32string out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    int len;
    uint32_t cp = DecodeUtf8(p, end, &len);
    out.push_back(cp == kInvalidCp ? U'\uFFFD' : static_cast<char32_t>(cp));
    p += len;
  }
  return out;
}

}  // namespace scriptqa::internal
