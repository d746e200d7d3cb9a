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
#include <vector>

#include "scriptqa/filter.h"

namespace scriptqa::internal {

// Where each byte of normalised text came from.
struct OffsetMap {
  std::vector<uint32_t> src_begin;  // per output byte: first byte of its source character
  std::vector<uint32_t> src_end;    // per output byte: one past the source character (or run)
  std::vector<uint32_t> clause_breaks;  // output offsets before which a clause ended (sorted)
  // Set by Normalizer when it builds the whole map of a text with no invalid UTF-8 (findings
  // then count characters the cheap way); false otherwise, e.g. for maps spliced together.
  bool valid_utf8 = false;
  void Clear() {
    src_begin.clear();
    src_end.clear();
    clause_breaks.clear();
    valid_utf8 = false;
  }
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
  bool NormalizeAt(std::string_view in, std::string* out, size_t at, size_t* end,
                   size_t* invalid_at, uint32_t* classes, size_t max_out) const;

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
  template <bool kWithMap, bool kCollapse>
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
