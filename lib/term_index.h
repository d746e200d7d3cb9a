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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace scriptqa::internal {

inline constexpr uint32_t kNoTermList = UINT32_MAX;

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
      longest_ = std::max(longest_, t.size());
      const size_t n1 = std::min(CharLen(static_cast<unsigned char>(t[0])), t.size());
      const uint32_t h = FirstBit(Key(t, 0, n1));
      Set(first_, h);
      if (n1 == t.size()) {
        single_[Key(t, 0)].push_back(static_cast<uint32_t>(i));
        Set(single_bits_, h);
      } else {
        const uint64_t pk = PairKey(t, 0, n1);
        pairs_[pk].push_back(static_cast<uint32_t>(i));
        Set(pair_bits_, PairBit(pk));
      }
    }
  }

  // Whether the index was built from `terms` (same length) and can answer for it.
  bool Serves(const std::vector<std::string>& terms) const { return usable_ && terms.size() == size_; }

  // The index (in `terms`) of the first term in list order that has an occurrence inside
  // s[lo, hi) accepted by `accept(begin, end)`, and in *at that occurrence (the leftmost
  // accepted one); -1 when there is none. `s` is valid UTF-8 (normalised text) and lo a
  // character boundary.
  // The longest term, in bytes.
  size_t longest() const { return longest_; }

  // Where an occurrence covering s[nb, ne) must start: in [CoverFrom(s, ne), nb].
  size_t CoverFrom(std::string_view s, size_t ne) const {
    size_t lo = ne > longest_ ? ne - longest_ : 0;
    while (lo < s.size() && (static_cast<unsigned char>(s[lo]) & 0xC0) == 0x80) ++lo;
    return lo;
  }
  // The index of the first term in list order with an occurrence covering s[nb, ne) (starting at
  // or before nb, ending at or after ne), -1 when there is none.
  int64_t Covering(std::string_view s, const std::vector<std::string>& terms, size_t nb,
                   size_t ne) const {
    uint32_t best = UINT32_MAX;
    ForEach(s, terms, CoverFrom(s, ne), nb + 1, [&](size_t pos, uint32_t i) {
      if (i < best && pos + terms[i].size() >= ne) best = i;
    });
    return best == UINT32_MAX ? int64_t{-1} : int64_t{best};
  }

  // Calls f(pos, term) for every occurrence of a term of the list that starts in s[lo, hi) (it may
  // end anywhere in s), in position order; returns where the walk stopped (the first character
  // boundary at or after hi). lo is a character boundary.
  template <typename F>
  size_t ForEach(std::string_view s, const std::vector<std::string>& terms, size_t lo, size_t hi,
                 F&& f) const {
    size_t pos = lo;
    const uint64_t* const first = first_;
    // The character at `at` whose first four bytes are w: its terms, if its bit says it may begin
    // one; returns its length.
    auto visit = [&](size_t at, uint32_t w) __attribute__((always_inline)) {
      const uint64_t e = kCharByHighNibble[(w & 0xFFu) >> 4];
      const uint32_t key = w & static_cast<uint32_t>(e);
      const size_t len = static_cast<size_t>(e >> 32);
      const uint32_t h = FirstBit(key);
      if (Has(first, h)) Candidates(s, terms, at, len, key, h, f);
      return len;
    };
#if defined(__SSE2__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    // Sixteen bytes at a time: the characters' first bytes (the bytes that are no continuation
    // bytes) are a bit mask, and the walk steps from one set bit to the next. Stepping by each
    // character's length, as below, chains a load and a table lookup from one character to the
    // next (about ten cycles a character); here the characters' lookups do not wait for each
    // other. Blocks whose characters' keys (four bytes from each first byte) can be read.
    const __m128i cont_mask = _mm_set1_epi8(static_cast<char>(0xC0));
    const __m128i cont_bits = _mm_set1_epi8(static_cast<char>(0x80));
    while (pos < hi && s.size() - pos >= 16 + 3) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s.data() + pos));
      uint32_t starts = static_cast<uint32_t>(
          ~_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(v, cont_mask), cont_bits)) & 0xFFFF);
      if (hi - pos < 16) starts &= (1u << (hi - pos)) - 1;
      // pos is a character's first byte (valid UTF-8), so starts is not empty; the next block
      // starts after the last character that starts in this one.
      size_t next = pos + 16;
      while (starts != 0) {
        const size_t at = pos + static_cast<size_t>(__builtin_ctz(starts));
        starts &= starts - 1;
        uint32_t w;
        std::memcpy(&w, s.data() + at, 4);
        const size_t len = visit(at, w);
        if (starts == 0) next = at + len;
      }
      pos = next;
    }
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    // Where four bytes can be read from a character's first byte (all but the last three bytes of
    // the text), one load gives its key and one table entry its length and key mask, without the
    // general path's branches: a walk looks at every character of its region, and most begin no
    // term.
    const size_t fast_end = std::min(hi, s.size() >= 4 ? s.size() - 3 : 0);
    while (pos < fast_end) {
      uint32_t w;
      std::memcpy(&w, s.data() + pos, 4);
      pos += visit(pos, w);
    }
#endif
    while (pos < hi) {
      const size_t len = std::min(CharLen(static_cast<unsigned char>(s[pos])), s.size() - pos);
      const uint32_t key = Key(s, pos, len);
      const uint32_t h = FirstBit(key);
      if (Has(first_, h)) Candidates(s, terms, pos, len, key, h, f);
      pos += len;
    }
    return pos;
  }

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
      if (!Has(first_, h)) {
        pos += len;
        continue;
      }
      // Candidates: the one-character terms of this character and the longer terms of this
      // character and the next, merged in list order.
      const std::vector<uint32_t>* one = &kNone;
      const std::vector<uint32_t>* two = &kNone;
      if (Has(single_bits_, h)) {
        auto it = single_.find(key);
        if (it != single_.end()) one = &it->second;
      }
      if (pos + len < hi) {
        const uint64_t pk = (static_cast<uint64_t>(key) << 32) | Key(s, pos + len);
        if (Has(pair_bits_, PairBit(pk))) {
          auto it = pairs_.find(pk);
          if (it != pairs_.end()) two = &it->second;
        }
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
  // ForEach at a character whose hash passed first_: its one-character terms, then the longer
  // terms of it and the next character, in list order.
  template <typename F>
  void Candidates(std::string_view s, const std::vector<std::string>& terms, size_t pos,
                  size_t len, uint32_t key, uint32_t h, F& f) const {
    if (Has(single_bits_, h)) {
      auto it = single_.find(key);
      if (it != single_.end())
        for (uint32_t i : it->second) f(pos, i);
    }
    if (pos + len >= s.size()) return;
    const uint64_t pk = (static_cast<uint64_t>(key) << 32) | Key(s, pos + len);
    if (!Has(pair_bits_, PairBit(pk))) return;
    auto it = pairs_.find(pk);
    if (it == pairs_.end()) return;
    for (uint32_t i : it->second) {
      const std::string& t = terms[i];
      if (pos + t.size() > s.size()) continue;
      // The terms here share their first two characters (at least two bytes); most differ from
      // the text in their last four bytes, which one load compares before the whole term.
      if (t.size() >= 4) {
        uint32_t a, b;
        std::memcpy(&a, s.data() + pos + t.size() - 4, 4);
        std::memcpy(&b, t.data() + t.size() - 4, 4);
        if (a != b) continue;
      }
      if (std::memcmp(s.data() + pos, t.data(), t.size()) == 0) f(pos, i);
    }
  }

  static size_t CharLen(unsigned char c) { return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }
  // The mask that keeps a key's bytes, by length.
  static constexpr uint32_t kKeyMask[5] = {0, 0xFFu, 0xFFFFu, 0xFFFFFFu, 0xFFFFFFFFu};
  // By the first byte's high four bits: CharLen in the high half, its kKeyMask in the low.
  static constexpr uint64_t kOne = uint64_t{1} << 32 | 0xFFu;
  static constexpr uint64_t kCharByHighNibble[16] = {
      kOne, kOne, kOne, kOne, kOne, kOne, kOne, kOne, kOne, kOne, kOne, kOne,
      uint64_t{2} << 32 | 0xFFFFu, uint64_t{2} << 32 | 0xFFFFu, uint64_t{3} << 32 | 0xFFFFFFu,
      uint64_t{4} << 32 | 0xFFFFFFFFu};
  // The bytes of the character at pos (n of them, 1..4) packed into a key, first byte lowest.
  static uint32_t Key(std::string_view s, size_t pos, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (s.size() - pos >= 4 && n >= 1 && n <= 4) {  // one load
      uint32_t w;
      std::memcpy(&w, s.data() + pos, 4);
      return w & kKeyMask[n];
    }
#endif
    uint32_t k = 0;
    for (size_t i = 0; i < n; ++i) k |= static_cast<uint32_t>(static_cast<unsigned char>(s[pos + i])) << (8 * i);
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
  // A pair of characters' bit in pair_bits_.
  static uint32_t PairBit(uint64_t pair) {
    return static_cast<uint32_t>((pair * 0x9E3779B97F4A7C15ull) >> 51);
  }
  static void Set(uint64_t* bits, uint32_t h) { bits[h >> 6] |= uint64_t{1} << (h & 63); }
  static bool Has(const uint64_t* bits, uint32_t h) {
    return (bits[h >> 6] >> (h & 63) & 1) != 0;  // one bt
  }

  uint64_t first_[128] = {};  // 8,192 bits: set for the hash of each term's first character
  // The same for one-character terms (single_), and for the first two characters of the longer
  // ones (pairs_): most characters that begin a term of the list begin none here.
  uint64_t single_bits_[128] = {};
  uint64_t pair_bits_[128] = {};
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> single_;  // one-character terms
  absl::flat_hash_map<uint64_t, std::vector<uint32_t>> pairs_;   // by their first two characters
  size_t size_ = 0;
  size_t longest_ = 0;  // bytes
  bool usable_ = true;
};

// The occurrences of a filter's term lists in one message, found on demand and kept: the checks
// of a message's hits ask the same lists about the same clauses again and again (several rules
// hit the same words, each looks before and after the hit), and each region of the message is
// walked once per list instead of once per question. Answers are the same as
// TermIndex::FirstTerm's. Not thread-safe; one per scanner.
class TermOccurrences {
 public:
  // Starts a message: forgets every occurrence found so far. `lists`: how many lists the filter
  // indexes (their ids run from 0).
  void Reset(std::string_view s, size_t lists) {
    for (uint32_t id : touched_) {
      Entry& e = entries_[id];
      e.walked = e.touched = false;
      e.occ.clear();
    }
    touched_.clear();
    if (entries_.size() != lists) entries_.assign(lists, Entry{});
    s_ = s;
  }

  // Gives back the memory of occurrence buffers grown past `keep` bytes (by a very long message
  // dense with a list's terms).
  void Release(size_t keep) {
    for (Entry& e : entries_)
      if (e.occ.capacity() * sizeof(Occurrence) > keep) std::vector<Occurrence>().swap(e.occ);
  }

  // TermIndex::FirstTerm for list `id` (indexed by `index`) over the message given to Reset.
  template <typename Accept>
  int64_t FirstTerm(uint32_t id, const TermIndex& index, const std::vector<std::string>& terms,
                    size_t lo, size_t hi, Accept&& accept, size_t* at) {
    const Entry& e = Walk(id, index, terms, lo, hi);
    auto it = From(e, lo);
    // The occurrences inside [lo, hi), in list order then by position; usually none or one.
    Occurrence found[16];
    size_t n = 0;
    for (; it != e.occ.end() && it->pos < hi; ++it) {
      if (it->pos + terms[it->term].size() > hi) continue;
      if (n == 16) return index.FirstTerm(s_, terms, lo, hi, accept, at);  // rare: many
      found[n++] = *it;
    }
    if (n > 1)
      std::stable_sort(found, found + n,
                       [](const Occurrence& x, const Occurrence& y) { return x.term < y.term; });
    for (size_t k = 0; k < n; ++k) {
      const size_t b = found[k].pos;
      if (!accept(b, b + terms[found[k].term].size())) continue;
      *at = b;
      return found[k].term;
    }
    return -1;
  }

  // TermIndex::Covering for list `id` over the message given to Reset.
  int64_t Covering(uint32_t id, const TermIndex& index, const std::vector<std::string>& terms,
                   size_t nb, size_t ne) {
    const size_t lo = index.CoverFrom(s_, ne);
    if (lo > nb) return -1;  // the hit is longer than every term
    const Entry& e = Walk(id, index, terms, lo, nb + 1);
    auto it = From(e, lo);
    uint32_t best = UINT32_MAX;
    for (; it != e.occ.end() && it->pos <= nb; ++it)
      if (it->term < best && it->pos + terms[it->term].size() >= ne) best = it->term;
    return best == UINT32_MAX ? int64_t{-1} : int64_t{best};
  }

 private:
  struct Occurrence {
    uint32_t pos, term;
  };
  struct Entry {
    bool walked = false, touched = false;
    uint32_t lo = 0, hi = 0;      // the region walked: occurrences starting in [lo, hi) are in occ
    std::vector<Occurrence> occ;  // by position, then list order
  };

  // The entry's first occurrence starting at or after pos.
  static std::vector<Occurrence>::const_iterator From(const Entry& e, size_t pos) {
    return std::lower_bound(e.occ.begin(), e.occ.end(), static_cast<uint32_t>(pos),
                            [](const Occurrence& o, uint32_t p) { return o.pos < p; });
  }

  const Entry& Walk(uint32_t id, const TermIndex& index, const std::vector<std::string>& terms,
                    size_t lo, size_t hi) {
    Entry& e = entries_[id];
    while (lo < hi && (static_cast<unsigned char>(s_[lo]) & 0xC0) == 0x80) ++lo;
    auto add = [&e](size_t pos, uint32_t term) {
      e.occ.push_back({static_cast<uint32_t>(pos), term});
    };
    // A region far from the one walked (another hit of a long message) starts afresh.
    if (e.walked && (lo > e.hi + (hi - lo) || hi + (hi - lo) < e.lo)) e.walked = false;
    if (!e.touched) {
      e.touched = true;
      touched_.push_back(id);
    }
    if (!e.walked) {
      e.occ.clear();
      e.lo = static_cast<uint32_t>(lo);
      e.hi = static_cast<uint32_t>(index.ForEach(s_, terms, lo, hi, add));
      e.walked = true;
      return e;
    }
    if (hi > e.hi) e.hi = static_cast<uint32_t>(index.ForEach(s_, terms, e.hi, hi, add));
    if (lo < e.lo) {
      const size_t old = e.occ.size();
      index.ForEach(s_, terms, lo, e.lo, add);
      std::rotate(e.occ.begin(), e.occ.begin() + static_cast<ptrdiff_t>(old), e.occ.end());
      e.lo = static_cast<uint32_t>(lo);
    }
    return e;
  }

  std::string_view s_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> touched_;
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_TERM_INDEX_H_
