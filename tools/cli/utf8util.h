// UTF-8 helpers of the command-line tool. The library keeps its own internal ones private; the
// CLI needs the same "maximal subpart" convention (Unicode §3.9, as Python's decode("utf-8",
// "replace")) to repair input lines before they become JSON output.
#ifndef SCRIPTQA_TOOLS_CLI_UTF8UTIL_H_
#define SCRIPTQA_TOOLS_CLI_UTF8UTIL_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace scriptqa::cli {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Decodes the code point at p (p < end). Sets *len to the bytes consumed: the character's length,
// or the length of the maximal invalid subpart (>= 1), in which case U+FFFD is returned.
inline uint32_t DecodeUtf8(const unsigned char* p, const unsigned char* end, int* len) {
  unsigned char b0 = p[0];
  if (b0 < 0x80) {
    *len = 1;
    return b0;
  }
  int need;
  uint32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    *len = 1;
    return kReplacementChar;
  }
  int i = 1;
  for (; i <= need; ++i) {
    if (p + i >= end) break;
    unsigned char b = p[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) break;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (i <= need) {
    *len = i;
    return kReplacementChar;
  }
  *len = need + 1;
  return cp;
}

// Appends `s` to *out with each maximal invalid subsequence replaced by U+FFFD. Returns the number
// of replacements.
inline size_t AppendRepairedUtf8(std::string_view s, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  size_t repaired = 0;
  while (p < end) {
    const unsigned char* run = p;
    while (p < end && *p < 0x80) ++p;  // ASCII fast path
    out->append(reinterpret_cast<const char*>(run), p - run);
    if (p >= end) break;
    int len;
    uint32_t cp = DecodeUtf8(p, end, &len);
    if (cp == kReplacementChar && !(len == 3 && p[0] == 0xEF && p[1] == 0xBF && p[2] == 0xBD)) {
      out->append("\xEF\xBF\xBD");
      ++repaired;
    } else {
      out->append(reinterpret_cast<const char*>(p), len);
    }
    p += len;
  }
  return repaired;
}

}  // namespace scriptqa::cli

#endif  // SCRIPTQA_TOOLS_CLI_UTF8UTIL_H_
