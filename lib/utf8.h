// UTF-8 decoding with the "maximal subpart" error convention (Unicode §3.9, WHATWG, Python's
// errors="replace"): each maximal invalid subsequence is one error, so character counts agree
// with what a Python user sees after bytes.decode("utf-8", "replace").
#ifndef SCRIPTQA_LIB_UTF8_H_
#define SCRIPTQA_LIB_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#endif

namespace scriptqa::internal {

inline constexpr uint32_t kInvalidCp = 0xFFFFFFFFu;

// The exact decoder, for anything but well-formed ASCII, 2- and 3-byte sequences.
uint32_t DecodeUtf8Slow(const unsigned char* p, const unsigned char* end, int* len);

// Decodes the character at p (p < end). Sets *len to the bytes consumed (1–4); returns the code
// point, or kInvalidCp for a maximal invalid subsequence of *len bytes. The common cases (ASCII,
// well-formed 2- and 3-byte sequences: all of CJK) are inline; the rest is out of line.
__attribute__((always_inline)) inline uint32_t DecodeUtf8(const unsigned char* p,
                                                          const unsigned char* end, int* len) {
  const unsigned c = p[0];
  if (c < 0x80) {
    *len = 1;
    return c;
  }
  if ((c & 0xF0) == 0xE0 && end - p >= 3 && (p[1] & 0xC0) == 0x80 && (p[2] & 0xC0) == 0x80) {
    const uint32_t cp = ((c & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) {
      *len = 3;
      return cp;
    }
  } else if (c >= 0xC2 && c <= 0xDF && end - p >= 2 && (p[1] & 0xC0) == 0x80) {
    *len = 2;
    return ((c & 0x1Fu) << 6) | (p[1] & 0x3Fu);
  }
  return DecodeUtf8Slow(p, end, len);
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

// The bytes of p[0, 8) that are not UTF-8 continuation bytes (bit 7 clear, or bit 6 set): one bit
// per byte, summed by a multiply into the top byte (the baseline x86-64 build has no popcount
// instruction, and its library call costs more than this).
inline uint32_t CharStarts8(const unsigned char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  const uint64_t starts = (~w >> 7 | w >> 6) & 0x0101010101010101ull;
  return static_cast<uint32_t>((starts * 0x0101010101010101ull) >> 56);
}

// The same for text known to be valid UTF-8: the bytes that are not continuation bytes (0x80 to
// 0xBF; for any text, the number of bytes that begin a character). Sixteen bytes per step, then
// eight, then one: the checks count the few characters between two clause breaks, where a loop
// of one byte per step cost three instructions a byte.
inline size_t CountValidChars(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = 0, i = 0;
#if defined(__SSE2__) && defined(__x86_64__)
  if (s.size() >= 16) {
    const __m128i limit = _mm_set1_epi8(-65), one = _mm_set1_epi8(1), zero = _mm_setzero_si128();
    __m128i sum = zero;  // two 64-bit lanes of byte sums
    for (; s.size() - i >= 16; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      sum = _mm_add_epi64(sum, _mm_sad_epu8(_mm_and_si128(_mm_cmpgt_epi8(v, limit), one), zero));
    }
    n = static_cast<size_t>(_mm_cvtsi128_si64(sum)) +
        static_cast<size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sum, sum)));
  }
#endif
  if (s.size() - i >= 8) {
    n += CharStarts8(p + i);
    i += 8;
  }
  for (; i < s.size(); ++i) n += static_cast<signed char>(p[i]) >= -64;  // not 0x80..0xBF
  return n;
}

// Decodes s into code points (invalid subsequences become U+FFFD).
std::u32string DecodeAll(std::string_view s);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_UTF8_H_
