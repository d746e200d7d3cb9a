// An index of a term list by each term's first two characters, so that "the first term of the list
// (in list order) occurring in a window of the message" is answered by one walk over the window
// instead of one search of the window per term (cue and companion lists run to thousands of
// terms once word classes are expanded).
#ifndef SCRIPTQA_LIB_TERM_INDEX_H_
#define SCRIPTQA_LIB_TERM_INDEX_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace scriptqa::internal {

class TermIndex {
 public:
  TermIndex() = default;
  explicit TermIndex(const std::vector<std::string>& terms) : size_(terms.size()) {
    for (size_t i = 0; i < terms.size(); ++i) {
      const std::string& t = terms[i];
      if (t.empty()) {
        usable_ = false;  // an empty term occurs everywhere: leave it to the plain search
        return;
      }
      const size_t n1 = std::min(CharLen(static_cast<unsigned char>(t[0])), t.size());
      const uint32_t h = FirstBit(Key(t, 0, n1));
      first_[h >> 6] |= uint64_t{1} << (h & 63);
      if (n1 == t.size()) {
        single_[Key(t, 0)].push_back(static_cast<uint32_t>(i));
      } else {
        pairs_[PairKey(t, 0, n1)].push_back(static_cast<uint32_t>(i));
      }
    }
  }

  // Whether the index was built from `terms` (same length) and can answer for it.
  bool Serves(const std::vector<std::string>& terms) const { return usable_ && terms.size() == size_; }

  // The index (in `terms`) of the first term in list order that has an occurrence inside
  // s[lo, hi) accepted by `accept(begin, end)`, and in *at that occurrence (the leftmost
  // accepted one); -1 when there is none. `s` is valid UTF-8 (normalised text) and lo a
  // character boundary.
  template <typename Accept>
  int64_t FirstTerm(std::string_view s, const std::vector<std::string>& terms, size_t lo, size_t hi,
                    Accept&& accept, size_t* at) const {
    uint32_t best = UINT32_MAX;
    size_t best_pos = 0;
    static const std::vector<uint32_t> kNone;
    for (size_t pos = lo; pos < hi && best != 0;) {
      const size_t len = std::min(CharLen(static_cast<unsigned char>(s[pos])), hi - pos);
      const uint32_t key = Key(s, pos, len);
      // Most characters begin no term of the list: one bit says so without a table lookup.
      const uint32_t h = FirstBit(key);
      if ((first_[h >> 6] >> (h & 63) & 1) == 0) {
        pos += len;
        continue;
      }
      // Candidates: the one-character terms of this character and the longer terms of this
      // character and the next, merged in list order.
      const std::vector<uint32_t>* one = &kNone;
      const std::vector<uint32_t>* two = &kNone;
      if (!single_.empty()) {
        auto it = single_.find(key);
        if (it != single_.end()) one = &it->second;
      }
      if (pos + len < hi) {
        auto it = pairs_.find((static_cast<uint64_t>(key) << 32) | Key(s, pos + len));
        if (it != pairs_.end()) two = &it->second;
      }
      size_t a = 0, b = 0;
      while (a < one->size() || b < two->size()) {
        const uint32_t i = b == two->size() || (a < one->size() && (*one)[a] < (*two)[b])
                               ? (*one)[a++]
                               : (*two)[b++];
        if (i >= best) break;
        const std::string& t = terms[i];
        if (pos + t.size() > hi || std::memcmp(s.data() + pos, t.data(), t.size()) != 0) continue;
        if (!accept(pos, pos + t.size())) continue;
        best = i;
        best_pos = pos;
        break;
      }
      pos += len;
    }
    if (best == UINT32_MAX) return -1;
    *at = best_pos;
    return best;
  }

 private:
  static size_t CharLen(unsigned char c) { return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }
  // The bytes of the character at pos (n of them, 1..4) packed into a key, first byte highest.
  static uint32_t Key(std::string_view s, size_t pos, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (s.size() - pos >= 4 && n >= 1 && n <= 4) {  // one load
      uint32_t w;
      std::memcpy(&w, s.data() + pos, 4);
      return __builtin_bswap32(w) >> (8 * (4 - n));
    }
#endif
    uint32_t k = 0;
    for (size_t i = 0; i < n; ++i) k = (k << 8) | static_cast<unsigned char>(s[pos + i]);
    return k;
  }
  static uint32_t Key(std::string_view s, size_t pos) {
    return Key(s, pos, std::min(CharLen(static_cast<unsigned char>(s[pos])), s.size() - pos));
  }
  // The character at pos (n bytes) and the one after it.
  static uint64_t PairKey(std::string_view s, size_t pos, size_t n) {
    return (static_cast<uint64_t>(Key(s, pos, n)) << 32) | Key(s, pos + n);
  }
  // A character's bit in first_ (a multiplicative hash of its key to 13 bits).
  static uint32_t FirstBit(uint32_t key) { return (key * 0x9E3779B1u) >> 19; }

  uint64_t first_[128] = {};  // 8,192 bits: set for the hash of each term's first character
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> single_;  // one-character terms
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> pairs_;   // by their first two characters
  size_t size_ = 0;
  bool usable_ = true;
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_TERM_INDEX_H_
