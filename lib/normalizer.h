// The table-driven normaliser: one pass over the message, no allocation once the output buffers
// are warm, optionally recording where every output byte came from.
#ifndef SCRIPTQA_LIB_NORMALIZER_H_
#define SCRIPTQA_LIB_NORMALIZER_H_

#include <cstddef>
#include <cstdint>
#include <climits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scriptqa/filter.h"

namespace scriptqa::internal {

// Where each byte of normalised text came from, in one of two forms:
//  - dense: src_begin/src_end hold an entry per output byte (Normalize with a map; the stream
//    scanner, which splices the maps of its pieces);
//  - runs: the scan path's NormalizeAt records only where the correspondence changes (after a
//    removed character, around a replaced one), so a message costs a few entries instead of
//    eight bytes per output byte, and nothing when no character was removed or replaced.
// Begin/End/size read either form. Not thread-safe (a lookup remembers the last run it used).
class OffsetMap {
 public:
  // A run of output bytes from `out` to the next run's `out`: with src_end == kSame, characters
  // copied unchanged from `src` on; otherwise what the source character [src, src_end) became.
  struct Run {
    uint32_t out, src, src_end;
  };
  static constexpr uint32_t kSame = UINT32_MAX;

  std::vector<uint32_t> src_begin;  // dense: per output byte, first byte of its source character
  std::vector<uint32_t> src_end;    // dense: per output byte, one past the source character (or run)
  std::vector<uint32_t> clause_breaks;  // output offsets before which a clause ended (sorted)
  // Set by Normalizer when it builds the whole map of a text with no invalid UTF-8 (findings
  // then count characters the cheap way); false otherwise, e.g. for maps spliced together.
  bool valid_utf8 = false;
  // For the checks (resolve.cc): what each clause break ends, filled in as they ask; used for a
  // map of runs only (one whole text, read many times per message).
  mutable std::vector<uint8_t> break_kinds;

  void Clear() {
    src_begin.clear();
    src_end.clear();
    clause_breaks.clear();
    break_kinds.clear();
    runs_.clear();
    source_ = nullptr;
    size_ = 0;
    hint_ = 0;
    valid_utf8 = false;
  }

  // Clears the map, giving back buffers that hold more than `keep` entries.
  void Release(size_t keep) {
    if (src_begin.capacity() > keep) std::vector<uint32_t>().swap(src_begin);
    if (src_end.capacity() > keep) std::vector<uint32_t>().swap(src_end);
    if (clause_breaks.capacity() > keep) std::vector<uint32_t>().swap(clause_breaks);
    if (runs_.capacity() > keep) std::vector<Run>().swap(runs_);
    Clear();
  }

  // Whether the map is in runs (NormalizeAt) rather than dense.
  bool runs_mode() const { return source_ != nullptr; }

  // Output bytes mapped.
  size_t size() const { return source_ ? size_ : src_begin.size(); }
  // The source offsets of the character that produced output byte k (k < size()).
  uint32_t Begin(size_t k) const {
    if (!source_) return src_begin[k];
    const Run& r = RunAt(k);
    return r.src_end == kSame ? SameBegin(r, k) : r.src;
  }
  uint32_t End(size_t k) const {
    if (!source_) return src_end[k];
    const Run& r = RunAt(k);
    if (r.src_end != kSame) return r.src_end;
    const uint32_t b = SameBegin(r, k);
    const unsigned c = static_cast<unsigned char>(source_[b]);
    return b + (c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4);
  }
  // What lies between output bytes b - 1 and b in the source (0 < b < size()): where the
  // character of b - 1 ends and where that of b begins, {End(b - 1), Begin(b)}.
  std::pair<uint32_t, uint32_t> Gap(size_t b) const {
    if (!source_) return {src_end[b - 1], src_begin[b]};
    const size_t i = RunIndex(b);
    const Run& r = runs_[i];
    if (r.out == b && i > 0) {  // a run starts at b (after a removed or replaced character)
      const Run& q = runs_[i - 1];
      return {q.src_end == kSame ? q.src + static_cast<uint32_t>(b - q.out) : q.src_end, r.src};
    }
    if (r.src_end != kSame) return {r.src_end, r.src};  // inside what one character became
    const uint32_t at = r.src + static_cast<uint32_t>(b - r.out);
    return {at, at};
  }

  // The first output byte before `limit` whose source character begins at or after `src`
  // (min(limit, size()) if none).
  size_t FirstAtOrAfter(uint32_t src, size_t limit) const;

  // For the normaliser: starts a map of runs over the text at `source` (which must outlive the
  // map's use).
  void StartRuns(const char* source) {
    Clear();
    valid_utf8 = true;  // until the normaliser meets an invalid sequence
    source_ = source;
    runs_.push_back({0, 0, kSame});
  }
  std::vector<Run>& runs() { return runs_; }
  void FinishRuns(size_t size) { size_ = size; }

 private:
  const Run& RunAt(size_t k) const { return runs_[RunIndex(k)]; }
  // The last run that starts at or before k: near the previous answer (lookups come in
  // clusters around a hit), else by binary search (FindRun).
  size_t RunIndex(size_t k) const {
    size_t i = hint_;
    const size_t n = runs_.size();
    if (i >= n) return FindRun(k);
    if (runs_[i].out <= k) {
      for (int step = 0; i + 1 < n && runs_[i + 1].out <= k; ++i)
        if (++step == 8) return FindRun(k);
    } else {
      for (int step = 0; runs_[i].out > k; --i)  // runs_[0].out == 0 <= k ends it
        if (++step == 8) return FindRun(k);
    }
    hint_ = i;
    return i;
  }
  size_t FindRun(size_t k) const;
  // The first byte of the unchanged character holding output byte k of run r.
  uint32_t SameBegin(const Run& r, size_t k) const {
    uint32_t s = r.src + static_cast<uint32_t>(k - r.out);
    while (s > r.src && (static_cast<unsigned char>(source_[s]) & 0xC0) == 0x80) --s;
    return s;
  }

  std::vector<Run> runs_;
  const char* source_ = nullptr;  // set: the map is in runs
  size_t size_ = 0;
  mutable size_t hint_ = 0;
};

class Normalizer {
 public:
  // Entry bits of the dense table.
  static constexpr uint32_t kSkip = 1u << 31;    // removed (noise or ignorable)
  static constexpr uint32_t kClause = 1u << 30;  // ends a clause
  static constexpr uint32_t kMulti = 1u << 29;   // low 24 bits: offset into pool_
  // A nonspacing mark, or a character that becomes marks only (decided like one: see
  // MarkState); with kMulti, also a character whose replacement starts with marks and goes on
  // with other characters (U+0EB3 LAO VOWEL SIGN AM -> U+0ECD U+0EB2): its leading marks are
  // decided like a mark there, the rest is kept, and a mark after it looks at it.
  static constexpr uint32_t kMark = 1u << 28;
  static constexpr uint32_t kCpMask = 0x1FFFFF;  // single replacement code point (0: identity)
  static constexpr uint32_t kPoolCount = 0xFF;    // Tables::pool header: code points...
  static constexpr uint32_t kPoolLeadShift = 8;   // ...and leading marks among them (equal to
                                                  // the count: decided whole, like a mark)

  // What a nonspacing mark (general category Mn, entry bit kMark; only with skip_noise, and not
  // for significant characters) is at a point of the text: noise at the start of the text, after
  // noise and after a character of a script written without combining marks (Han, kana, Hangul,
  // Bopomofo: 加̸微̷信 reads 加微信); kept after any other character (Café, Tiếng Việt, Thai,
  // Devanagari), and a kept mark keeps the next one. The decision looks back one character, so
  // a text normalised in pieces (StreamScanner) passes each piece the state its predecessor left.
  enum class MarkState : uint8_t { kNoise, kKept };
  // True when a nonspacing mark right after `cp` is noise (cp is not itself a kMark character).
  bool MarksAfterAreNoise(uint32_t cp) const;

  // Takes the tables for `options` from a process-wide cache (the last kTableCacheSize option
  // sets used, shared and immutable), building them only for options not seen recently: about
  // 2 million instructions for the default options, 9 million for others. Thread-safe.
  explicit Normalizer(const NormalizationOptions& options);
  static constexpr size_t kTableCacheSize = 16;

  // Normalises `in` into *out (replacing its contents). With `map`, records offsets too.
  // Invalid UTF-8 is read as U+FFFD; when `invalid_at` is non-null, it receives the offset of the
  // first invalid sequence (npos when there is none).
  // With `classes`, also receives the character classes present in the output
  // (regex_class.h: kClassDigit | kClassLetter | kClassAt), for gating the regex databases.
  // Returns false, with *out (and *map) truncated, when the output would exceed `max_out` bytes
  // (characters such as U+FDFA expand elevenfold, and the map takes 12 bytes per output byte: the
  // scanner bounds both with kMaxExpansion).
  // With `marks`, *marks is the MarkState at the start of `in` (without: kNoise, the start of a
  // text) and receives the state at its end, for the text that follows.
  bool Normalize(std::string_view in, std::string* out, OffsetMap* map,
                 size_t* invalid_at = nullptr, uint32_t* classes = nullptr,
                 size_t max_out = SIZE_MAX, MarkState* marks = nullptr) const;

  // Like Normalize without a map, but writes from out[at] and sets *end to one past the last
  // byte written, leaving out->size() at least *end (never shrinking it, so that reused buffers
  // are not zero-filled again on every call). Bytes before `at` are kept. On false (max_out
  // passed), *end is where writing stopped.
  // With `runs` (and without collapse_repeats, whose map only Normalize builds), also records
  // the offset map of the text as runs (OffsetMap), offsets relative to `at`; `in` must outlive
  // the map's use.
  bool NormalizeAt(std::string_view in, std::string* out, size_t at, size_t* end,
                   size_t* invalid_at, uint32_t* classes, size_t max_out,
                   OffsetMap* runs = nullptr) const;

  // The output bound the scanner applies to a message of `in_size` bytes: 4× plus 64 KiB, far
  // beyond real text (fullwidth and Traditional text keep or shrink their size; the longest
  // common expansions, such as ㈱ -> (株), stay under 2×).
  static size_t MaxOutput(size_t in_size) { return in_size * 4 + (size_t{64} << 10); }

  // Convenience for patterns and tools.
  std::string Normalize(std::string_view in) const {
    std::string out;
    Normalize(in, &out, nullptr);
    return out;
  }

  // Stable across processes: the generated data and the options.
  uint64_t hash() const { return hash_; }

  // True when the code point is skipped (noise or ignorable) under these options.
  bool IsSkipped(uint32_t cp) const { return (Lookup(cp) & kSkip) != 0; }

  uint32_t Lookup(uint32_t cp) const {
    if (cp >= 0x110000) return 0;
    return blocks_[(static_cast<size_t>(stage1_[cp >> 7]) << 7) | (cp & 127)];
  }

  // For an entry with kMark: true when the character becomes marks only, false when it becomes
  // marks followed by other characters.
  bool BecomesMarksOnly(uint32_t e) const {
    if (!(e & kMulti)) return true;
    const uint32_t head = pool_[e & 0xFFFFFF];
    return (head >> kPoolLeadShift) == (head & kPoolCount);
  }

  // The dense table, for the build-time baker (tools/bake_normtable.cc).
  const std::vector<uint16_t>& stage1_table() const { return tables_->own_stage1; }
  const std::vector<uint32_t>& block_table() const { return tables_->own_blocks; }
  const std::vector<uint32_t>& pool_table() const { return tables_->own_pool; }

 private:
  // kWithMap: the dense map; kRuns (only without both others): the map as runs.
  template <bool kWithMap, bool kCollapse, bool kRuns = false>
  bool Run(std::string_view in, std::string* out, size_t base, size_t* end_out, OffsetMap* map,
           size_t* invalid_at,
           uint32_t* classes, size_t max_out, MarkState* marks) const;

  // Everything derived from one set of options. Immutable once built, so normalisers with equal
  // options (every filter loaded or reloaded with them) share one copy through the cache.
  struct Tables {
    // The table in use: the one baked at build time for the default options (no work at load),
    // or own_* built for other options.
    const uint16_t* stage1 = nullptr;  // cp >> 7 -> block number
    const uint32_t* blocks = nullptr;  // block number * 128 + (cp & 127) -> entry
    // Multi-character replacements: a header (kPoolCount bits: the number of code points; the
    // bits above kPoolLeadShift: how many of them, from the first, are marks), code points...
    const uint32_t* pool = nullptr;
    std::vector<uint16_t> own_stage1;
    std::vector<uint32_t> own_blocks;
    std::vector<uint32_t> own_pool;
    // The fast paths' tables (Run without collapse): what to do with an ASCII byte or a
    // three-byte sequence, decided by the lead byte's nibble and the next two bytes' six bits.
    std::vector<uint8_t> fast_ascii;    // 128 entries
    std::vector<uint16_t> fast3_index;  // (word & 0x3F0F) -> block of 64 in fast3_blocks
    std::vector<uint8_t> fast3_blocks;  // kFast* per third byte

    uint32_t Lookup(uint32_t cp) const {
      if (cp >= 0x110000) return 0;
      return blocks[(static_cast<size_t>(stage1[cp >> 7]) << 7) | (cp & 127)];
    }
  };
  static std::shared_ptr<const Tables> CachedTables(const NormalizationOptions& options);
  static std::shared_ptr<const Tables> BuildTables(const NormalizationOptions& options);
  static void Build(const NormalizationOptions& options, Tables* t);  // composes own_*
  static void BuildFastTables(Tables* t);  // derives the fast_* tables from the table in use

  // kFastSkip and kFastSkipClause have bit 0 set; kFastSkipClause also ends a clause.
  static constexpr uint8_t kFastKeep = 0, kFastSkip = 1, kFastOther = 2, kFastSkipClause = 3;

  NormalizationOptions options_;
  std::shared_ptr<const Tables> tables_;
  // tables_'s pointers, copied: one load fewer on the hot path.
  const uint16_t* stage1_ = nullptr;
  const uint32_t* blocks_ = nullptr;
  const uint32_t* pool_ = nullptr;
  const uint8_t* fast_ascii_ = nullptr;
  const uint16_t* fast3_index_ = nullptr;
  const uint8_t* fast3_blocks_ = nullptr;
  uint64_t hash_ = 0;
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_NORMALIZER_H_
