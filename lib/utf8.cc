#include "utf8.h"

namespace scriptqa::internal {

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
