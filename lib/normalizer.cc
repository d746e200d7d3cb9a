#include "normalizer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "hash.h"
#include "regex_class.h"
#include "normdata.inc"
#ifndef SCRIPTQA_NO_BAKED_TABLE
#include "normtable.inc"
#endif
#include "utf8.h"

namespace scriptqa::internal {
namespace {

using normdata::kClause;
using normdata::kClauseSize;

// A generated map entry: (cp, pool offset, length) triples sorted by cp.
struct Seq {
  const uint32_t* p = nullptr;
  uint32_t n = 0;
};

bool FindMap(const uint32_t* index, size_t index_size, const uint32_t* pool, uint32_t cp,
             Seq* out) {
  size_t lo = 0, hi = index_size / 3;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (index[mid * 3] < cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == index_size / 3 || index[lo * 3] != cp) return false;
  out->p = pool + index[lo * 3 + 1];
  out->n = index[lo * 3 + 2];
  return true;
}

bool InRanges(const uint32_t* ranges, size_t size, uint32_t cp) {
  size_t n = size / 2;
  size_t lo = 0, hi = n;
  while (lo < hi) {  // first range whose end >= cp
    size_t mid = (lo + hi) / 2;
    if (ranges[mid * 2 + 1] < cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo < n && ranges[lo * 2] <= cp;
}

bool IsClause(uint32_t cp) {
  return std::find(kClause, kClause + kClauseSize, cp) != kClause + kClauseSize;
}

bool SameOptions(const NormalizationOptions& a, const NormalizationOptions& b) {
  return a.fold_width == b.fold_width && a.fold_case == b.fold_case &&
         a.traditional_to_simplified == b.traditional_to_simplified &&
         a.skip_noise == b.skip_noise && a.significant == b.significant &&
         a.extra_noise == b.extra_noise && a.collapse_repeats == b.collapse_repeats;
}

}  // namespace

Normalizer::Normalizer(const NormalizationOptions& options)
    : options_(options), tables_(CachedTables(options)) {
  stage1_ = tables_->stage1;
  blocks_ = tables_->blocks;
  pool_ = tables_->pool;
  fast_ascii_ = tables_->fast_ascii.data();
  fast3_index_ = tables_->fast3_index.data();
  fast3_blocks_ = tables_->fast3_blocks.data();
  internal::Hasher h;
  h.U64(normdata::kNormDataHash);
  h.U64(options.fold_width);
  h.U64(options.fold_case);
  h.U64(options.traditional_to_simplified);
  h.U64(options.skip_noise);
  h.Str(options.significant);
  h.Str(options.extra_noise);
  h.U64(options.collapse_repeats);
  hash_ = h.value();
}

// Every filter load (FromDictionaries, Deserialize, each reload) makes a normaliser, and the
// tables cost millions of instructions while depending on the options alone; most processes use
// one or two option sets. So the last kTableCacheSize option sets' tables are kept, most recent
// first. The key is the whole NormalizationOptions (collapse_repeats is not in the tables, but a
// field added later may be). Tables are built outside the lock: two threads asking for the same
// new options at once may both build, and the second to finish uses the first's copy.
std::shared_ptr<const Normalizer::Tables> Normalizer::CachedTables(
    const NormalizationOptions& options) {
  struct Entry {
    NormalizationOptions options;
    std::shared_ptr<const Tables> tables;
  };
  struct Cache {
    std::mutex mu;
    std::vector<Entry> entries;  // most recently used first
  };
  static Cache* const cache = new Cache;  // never destroyed: normalisers may outlive main
  auto find = [&]() -> std::shared_ptr<const Tables> {
    for (size_t i = 0; i < cache->entries.size(); ++i) {
      if (!SameOptions(cache->entries[i].options, options)) continue;
      std::rotate(cache->entries.begin(), cache->entries.begin() + static_cast<ptrdiff_t>(i),
                  cache->entries.begin() + static_cast<ptrdiff_t>(i) + 1);
      return cache->entries.front().tables;
    }
    return nullptr;
  };
  {
    std::lock_guard<std::mutex> lock(cache->mu);
    if (std::shared_ptr<const Tables> t = find()) return t;
  }
  std::shared_ptr<const Tables> built = BuildTables(options);
  std::lock_guard<std::mutex> lock(cache->mu);
  if (std::shared_ptr<const Tables> t = find()) return t;
  if (cache->entries.size() == kTableCacheSize) cache->entries.pop_back();
  cache->entries.insert(cache->entries.begin(), Entry{options, built});
  return built;
}

std::shared_ptr<const Normalizer::Tables> Normalizer::BuildTables(
    const NormalizationOptions& options) {
  auto t = std::make_shared<Tables>();
  const NormalizationOptions defaults;
  const bool is_default = options.fold_width == defaults.fold_width &&
                          options.fold_case == defaults.fold_case &&
                          options.traditional_to_simplified == defaults.traditional_to_simplified &&
                          options.skip_noise == defaults.skip_noise &&
                          options.significant == defaults.significant &&
                          options.extra_noise == defaults.extra_noise;  // collapse is not in the table
#ifndef SCRIPTQA_NO_BAKED_TABLE
  if (is_default) {
    t->stage1 = normtable::kStage1;
    t->blocks = normtable::kBlocks;
    t->pool = normtable::kPool;
  } else
#endif
  {
    (void)is_default;
    Build(options, t.get());
    t->stage1 = t->own_stage1.data();
    t->blocks = t->own_blocks.data();
    t->pool = t->own_pool.data();
  }
  BuildFastTables(t.get());
  return t;
}

void Normalizer::BuildFastTables(Tables* t) {
  auto kind = [&](uint32_t cp) -> uint8_t {
    const uint32_t e = t->Lookup(cp);
    if (e == 0) return kFastKeep;
    if ((e & kSkip) == 0) return kFastOther;
    return (e & kClause) ? kFastSkipClause : kFastSkip;
  };
  t->fast_ascii.resize(128);
  for (uint32_t c = 0; c < 128; ++c) t->fast_ascii[c] = kind(c);
  // Block 0: every entry kFastOther (ill-formed sequences, and index slots no lead byte uses).
  t->fast3_blocks.assign(64, kFastOther);
  t->fast3_index.assign(0x3F10, 0);
  std::map<std::string, uint16_t> seen;  // about a thousand blocks, once per option set
  std::string block(64, '\0');
  for (uint32_t nibble = 0; nibble < 16; ++nibble) {
    for (uint32_t b1 = 0; b1 < 64; ++b1) {
      const uint32_t first = (nibble << 12) | (b1 << 6);
      if (first < 0x800 || (first >= 0xD800 && first <= 0xDFFF)) continue;  // overlong, surrogate
      for (uint32_t b2 = 0; b2 < 64; ++b2) block[b2] = static_cast<char>(kind(first | b2));
      auto [it, inserted] = seen.try_emplace(block, static_cast<uint16_t>(t->fast3_blocks.size() / 64));
      if (inserted) t->fast3_blocks.insert(t->fast3_blocks.end(), block.begin(), block.end());
      t->fast3_index[((0x80 | b1) << 8 | (0xE0 | nibble)) & 0x3F0F] = it->second;
    }
  }
}

// Builds the dense table in three passes, without sets or per-character allocation (this runs on
// the first load with new options, so it must take well under a millisecond):
//   1. noise and ignorable ranges become "skip" as if unmapped;
//   2. every code point some map changes is composed (NFKC, fold, T->S) and classified;
//   3. the option's significant / extra-noise characters, clause marks and U+FFFD likewise.
// A later pass overwrites an earlier one; composing a code point twice gives the same entry.
void Normalizer::Build(const NormalizationOptions& options, Tables* t) {
  using namespace normdata;
  const std::u32string significant = DecodeAll(options.significant);
  const std::u32string extra_noise = DecodeAll(options.extra_noise);
  auto has = [](const std::u32string& s, uint32_t c) {
    return s.find(static_cast<char32_t>(c)) != std::u32string::npos;
  };
  auto skipped = [&](uint32_t c) {
    if (InRanges(kDrop, kDropSize, c)) return true;
    if (!options.skip_noise || has(significant, c)) return false;
    return has(extra_noise, c) || InRanges(kNoise, kNoiseSize, c);
  };
  // Nonspacing marks whose fate depends on the character before them (MarkState).
  auto marked = [&](uint32_t c) {
    return options.skip_noise && !has(significant, c) && !has(extra_noise, c) &&
           InRanges(normdata::kMark, normdata::kMarkSize, c);
  };

  std::vector<uint16_t>& stage1 = t->own_stage1;
  std::vector<uint32_t>& blocks = t->own_blocks;
  std::vector<uint32_t>& pool = t->own_pool;
  stage1.assign(0x110000 >> 7, 0);
  blocks.assign(128, 0);  // block 0: identity
  pool.assign(1, 0);      // offset 0 unused, so that a multi entry is never all-zero
  auto write = [&](uint32_t cp, uint32_t entry) {
    uint16_t& block = stage1[cp >> 7];
    if (block == 0) {
      if (entry == 0) return;
      block = static_cast<uint16_t>(blocks.size() / 128);
      blocks.resize(blocks.size() + 128, 0);
    }
    blocks[(static_cast<size_t>(block) << 7) | (cp & 127)] = entry;
  };

  uint32_t a[64], b[64];
  auto compose = [&](uint32_t cp) {
    if (cp >= 0x110000 || (cp >= 0xD800 && cp <= 0xDFFF)) return;
    size_t n = 1;
    a[0] = cp;
    Seq seq;
    if (options.fold_width && FindMap(kNfkcIndex, kNfkcIndexSize, kNfkcPool, cp, &seq)) {
      n = std::min<size_t>(seq.n, 32);
      std::copy(seq.p, seq.p + n, a);
    }
    if (options.fold_case) {
      size_t m = 0;
      for (size_t k = 0; k < n && m < 60; ++k) {
        if (FindMap(kFoldIndex, kFoldIndexSize, kFoldPool, a[k], &seq)) {
          for (uint32_t q = 0; q < seq.n && m < 60; ++q) b[m++] = seq.p[q];
        } else {
          b[m++] = a[k];
        }
      }
      std::copy(b, b + m, a);
      n = m;
    }
    if (options.traditional_to_simplified) {
      for (size_t k = 0; k < n; ++k)
        if (FindMap(kT2sIndex, kT2sIndexSize, kT2sPool, a[k], &seq)) a[k] = seq.p[0];
    }
    // Marks inside the replacement are decided now as the text's own would be on a second
    // pass (after a character of a script written without them they are noise; see MarkState);
    // its leading marks are decided where the character stands, by Run. So that normalising
    // twice gives what normalising once gave, a character is decided by what it becomes:
    // U+02D8 BREVE -> U+0306 like a mark, U+0EB3 -> U+0ECD U+0EB2 like a mark then a letter.
    // (kPoolLeadShift: a header's lead equal to its count means "decided whole, like a mark".)
    bool clause = IsClause(cp);
    size_t m = 0, lead = 0;
    bool noise_marks = false;  // marks here follow a letter that makes them noise
    for (size_t k = 0; k < n; ++k) {
      clause |= IsClause(a[k]);
      if (skipped(a[k])) continue;
      if (marked(a[k])) {
        if (m == lead) {
          ++lead;
        } else if (noise_marks) {
          continue;
        }
      } else {
        noise_marks = InRanges(kMarkFree, kMarkFreeSize, a[k]);
      }
      b[m++] = a[k];
    }
    // A mark that becomes a letter (U+0345 -> U+03B9 when folding case) goes as a mark would.
    if (lead == 0 && marked(cp)) lead = m;
    uint32_t entry;
    if (m == 0) {
      entry = kSkip;
    } else if (m == 1 && b[0] == cp) {
      entry = 0;
    } else if (m == 1) {
      entry = b[0];
    } else {
      entry = kMulti | static_cast<uint32_t>(pool.size());
      pool.push_back(static_cast<uint32_t>(m | lead << kPoolLeadShift));
      pool.insert(pool.end(), b, b + m);
    }
    if (clause) entry |= kClause;
    if (lead > 0) entry |= kMark;
    write(cp, entry);
  };

  // Pass 1.
  for (size_t i = 0; i < kDropSize; i += 2)
    for (uint32_t c = kDrop[i]; c <= kDrop[i + 1]; ++c) write(c, kSkip);
  if (options.skip_noise)
    for (size_t i = 0; i < kNoiseSize; i += 2)
      for (uint32_t c = kNoise[i]; c <= kNoise[i + 1]; ++c) write(c, kSkip);
  if (options.skip_noise)
    for (size_t i = 0; i < normdata::kMarkSize; i += 2)
      for (uint32_t c = normdata::kMark[i]; c <= normdata::kMark[i + 1]; ++c)
        if (marked(c)) write(c, kMark);
  // Pass 2.
  if (options.fold_width)
    for (size_t i = 0; i < kNfkcIndexSize; i += 3) compose(kNfkcIndex[i]);
  if (options.fold_case)
    for (size_t i = 0; i < kFoldIndexSize; i += 3) compose(kFoldIndex[i]);
  if (options.traditional_to_simplified)
    for (size_t i = 0; i < kT2sIndexSize; i += 3) compose(kT2sIndex[i]);
  // Pass 3.
  for (char32_t c : significant) compose(static_cast<uint32_t>(c));
  for (char32_t c : extra_noise) compose(static_cast<uint32_t>(c));
  for (size_t i = 0; i < kClauseSize; ++i) compose(normdata::kClause[i]);
  compose(0xFFFD);
}

bool Normalizer::Normalize(std::string_view in, std::string* out, OffsetMap* map,
                           size_t* invalid_at, uint32_t* classes, size_t max_out,
                           MarkState* marks) const {
  const bool collapse = options_.collapse_repeats;
  if (map) {
    return collapse
               ? Run<true, true>(in, out, 0, nullptr, map, invalid_at, classes, max_out, marks)
               : Run<true, false>(in, out, 0, nullptr, map, invalid_at, classes, max_out, marks);
  }
  return collapse
             ? Run<false, true>(in, out, 0, nullptr, nullptr, invalid_at, classes, max_out, marks)
             : Run<false, false>(in, out, 0, nullptr, nullptr, invalid_at, classes, max_out, marks);
}

// Each message of a batch starts a text of its own: its first mark does not look at the previous
// message (`in` is the message alone, and no MarkState is carried in).
bool Normalizer::NormalizeAt(std::string_view in, std::string* out, size_t at, size_t* end,
                             size_t* invalid_at, uint32_t* classes, size_t max_out,
                             OffsetMap* runs) const {
  if (options_.collapse_repeats)
    return Run<false, true>(in, out, at, end, nullptr, invalid_at, classes, max_out, nullptr);
  if (runs)
    return Run<false, false, true>(in, out, at, end, runs, invalid_at, classes, max_out, nullptr);
  return Run<false, false>(in, out, at, end, nullptr, invalid_at, classes, max_out, nullptr);
}

size_t OffsetMap::FindRun(size_t k) const {
  // The last run that starts at or before k (the first starts at 0).
  auto it = std::upper_bound(runs_.begin(), runs_.end(), k,
                             [](size_t v, const Run& r) { return v < r.out; });
  hint_ = static_cast<size_t>(it - runs_.begin()) - 1;
  return hint_;
}

size_t OffsetMap::FirstAtOrAfter(uint32_t src, size_t limit) const {
  const size_t n = std::min(limit, size());
  if (!source_) {
    return static_cast<size_t>(
        std::lower_bound(src_begin.begin(), src_begin.begin() + static_cast<ptrdiff_t>(n), src) -
        src_begin.begin());
  }
  size_t lo = 0, hi = n;  // Begin is non-decreasing
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (Begin(mid) < src) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Decided by what the character becomes (㈱ -> 株 is a Han carrier, like 株), so that normalised
// text normalises to itself: the last code point it becomes that is not a mark.
__attribute__((noinline, cold)) bool Normalizer::MarksAfterAreNoise(uint32_t cp) const {
  const uint32_t e = Lookup(cp);
  if (e & kSkip) return true;
  const uint32_t* q = &cp;
  uint32_t n = 1;
  uint32_t to = e & kCpMask;
  if (e & kMulti) {
    q = &pool_[(e & 0xFFFFFF) + 1];
    n = pool_[e & 0xFFFFFF] & kPoolCount;
  } else if (to != 0) {
    q = &to;
  }
  while (n > 0 && (Lookup(q[n - 1]) & kMark)) --n;
  return n > 0 && InRanges(normdata::kMarkFree, normdata::kMarkFreeSize, q[n - 1]);
}

namespace {

inline int EncodeUtf8(uint32_t cp, char* b) {
  if (cp < 0x80) {
    b[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    b[0] = static_cast<char>(0xC0 | (cp >> 6));
    b[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    b[0] = static_cast<char>(0xE0 | (cp >> 12));
    b[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  b[0] = static_cast<char>(0xF0 | (cp >> 18));
  b[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  b[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  b[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

// The fast paths' kind (kFast*) of the three-byte sequence in the low bytes of `word`: the lead
// byte's low nibble and the second byte's six bits choose a block of 64, the third byte's six bits
// the entry. Overlong forms and surrogates lead to an all-kFastOther block.
inline uint8_t Kind3(const uint16_t* index, const uint8_t* blocks, uint32_t word) {
  return blocks[(static_cast<size_t>(index[word & 0x3F0Fu]) << 6) | ((word >> 16) & 0x3Fu)];
}

// Regex-gating class of each ASCII byte (regex_class.h).
struct AsciiClasses {
  uint8_t c[128];
  constexpr AsciiClasses() : c{} {
    for (int i = 0; i < 128; ++i) c[i] = static_cast<uint8_t>(AsciiClass(static_cast<uint32_t>(i)));
  }
};
constexpr AsciiClasses kAsciiClasses;

// The code point of the character that ends at p (p > begin), as the forward decoder reads it:
// U+FFFD when the bytes before p are not one well-formed character. (A lead byte is always where
// the forward decoder starts a character, valid or not, so a well-formed sequence found by
// stepping back over continuation bytes is the one it read.)
__attribute__((noinline, cold)) uint32_t CpEndingAt(const unsigned char* begin,
                                                   const unsigned char* p) {
  const unsigned char* q = p - 1;
  while (q > begin && (*q & 0xC0) == 0x80 && p - q < 4) --q;
  int len = 0;
  const uint32_t cp = DecodeUtf8(q, p, &len);
  return cp == kInvalidCp || q + len != p ? 0xFFFDu : cp;
}

}  // namespace

// The hot loop: one pass, one table lookup per character, output written through raw pointers.
//
// Capacity invariant: before each character, the output buffers have room for at least the rest
// of the input plus kSlack bytes. A character left unchanged (the common case: CJK, lower-case
// ASCII, digits) writes exactly the bytes it consumes, so it keeps the invariant without a check;
// only a replaced, expanded or invalid character checks for room. Skipped characters (noise)
// write nothing.
template <bool kWithMap, bool kCollapse, bool kRuns>
bool Normalizer::Run(std::string_view in, std::string* out, size_t base, size_t* end_out,
                     OffsetMap* map,
                     size_t* invalid_at, uint32_t* classes, size_t max_out,
                     MarkState* marks) const {
  constexpr size_t kSlack = 16;
  if (invalid_at) *invalid_at = std::string::npos;
  uint32_t cls = 0;  // character classes emitted (for regex gating)
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const end = p + in.size();
  const auto* const begin = p;
  // Locals, not members: stores through the char output pointer may alias anything, and would
  // force the members to be reloaded after every character.
  const uint16_t* const stage1 = stage1_;
  const uint32_t* const blocks = blocks_;
  const uint32_t* const pool = pool_;
  const uint32_t* const ascii = blocks + (static_cast<size_t>(stage1[0]) << 7);

  size_t cap = base + in.size() + kSlack;
  if (out->size() < cap) out->resize(end_out ? std::max(cap, out->size() * 2) : cap);
  // Without a map, all of *out is room. With one, the map's arrays are sized to the room asked
  // for, not to *out, which may be far larger after an earlier long message.
  if (!kWithMap) cap = out->size();
  char* o = out->data();
  uint32_t* mb = nullptr;  // map->src_begin
  uint32_t* me = nullptr;  // map->src_end
  auto bind_map = [&]() {
    if (kWithMap) {
      mb = map->src_begin.data();
      me = map->src_end.data();
    }
  };
  if (kWithMap) {
    map->clause_breaks.clear();
    map->valid_utf8 = true;
    if (map->src_begin.size() < cap) {
      map->src_begin.resize(cap);
      map->src_end.resize(cap);
    }
    bind_map();
  }
  static_assert(!kRuns || (!kWithMap && !kCollapse));
  if (kRuns) map->StartRuns(in.data());
  size_t n = base;  // bytes written (of out: kept bytes before base)
  bool overflow = false;
  // Makes room for `need` more bytes: a character's output plus the rest of the input (the
  // capacity invariant). Whether the output passes max_out is decided by the output itself, after
  // each character that may grow it (below), not by this worst case: that refused text whose rest
  // normalises to nothing, and only when the buffer had to grow, so depending on earlier messages.
  auto ensure = [&](size_t need) {
    if (cap - n >= need) return;
    cap = std::max(cap * 2, n + need + kSlack);
    out->resize(cap);
    o = out->data();
    if (kWithMap) {
      map->src_begin.resize(cap);
      map->src_end.resize(cap);
      bind_map();
    }
  };
  uint32_t last_cp = kInvalidCp;  // last emitted code point, for collapse_repeats
  size_t last_start = 0;          // output offset of the last emitted character
  uint32_t char_index = 0;        // index of the current source character
  // Nonspacing marks (kMark) never take the fast paths, so the character before one is either a
  // mark decided here (it ended at mark_end; the same decision holds) or is read back from the
  // input.
  const unsigned char* mark_end = nullptr;
  bool mark_noise = false;

  auto mark_clause = [&]() {
    if (kWithMap || kRuns) {
      const uint32_t pos = static_cast<uint32_t>(n - base);
      if (map->clause_breaks.empty() || map->clause_breaks.back() != pos)
        map->clause_breaks.push_back(pos);
    }
  };
  auto record = [&](size_t from, uint32_t src_b, uint32_t src_e) {
    if (kWithMap) {
      for (size_t k = from; k < n; ++k) {
        mb[k] = src_b;
        me[k] = src_e;
      }
    }
  };
  // kRuns: a run starts at output offset `at` (absolute); one that started there before is
  // replaced (it produced nothing).
  auto start_run = [&](size_t at, size_t src, uint32_t src_end) {
    if (kRuns) {
      const uint32_t a = static_cast<uint32_t>(at - base);
      OffsetMap::Run& last = map->runs().back();
      if (last.out == a) {
        last.src = static_cast<uint32_t>(src);
        last.src_end = src_end;
      } else {
        // Field by field: a pushed temporary is built on the stack in two stores and read back
        // in one load, which the processor cannot forward (a stall on every removed character).
        std::vector<OffsetMap::Run>& runs = map->runs();
        runs.emplace_back();
        OffsetMap::Run& run = runs.back();
        run.out = a;
        run.src = static_cast<uint32_t>(src);
        run.src_end = src_end;
      }
    }
  };
  // kRuns: a character removed on a fast path, before source offset `next`; w is where output
  // goes on. Inlined by force: as a call it cost 33 instructions per message of the CI budget set.
  auto removed_fast = [&](const char* w, uint8_t k, size_t next) __attribute__((always_inline)) {
    if (kRuns) {
      n = static_cast<size_t>(w - o);
      if (k == kFastSkipClause) mark_clause();
      start_run(n, next, OffsetMap::kSame);
    }
  };
  // Emits one code point (room is ensured by the caller); handles collapse_repeats.
  auto emit = [&](uint32_t cp, uint32_t src_b, uint32_t src_e) {
    if (kCollapse && cp == last_cp) {
      if (kWithMap)
        for (size_t k = last_start; k < n; ++k) me[k] = src_e;
      return;
    }
    if (cp < 0x80) cls |= kAsciiClasses.c[cp];
    last_start = n;
    last_cp = cp;
    n += static_cast<size_t>(EncodeUtf8(cp, o + n));
    record(last_start, src_b, src_e);
  };

  while (p < end) {
    if (!kWithMap && !kCollapse) {
      // The scan path's inner loop: unchanged ASCII and three-byte characters are copied and
      // removed ones skipped, with everything in registers; any other character leaves the loop
      // for the general code below. Four bytes are loaded at a time, so it stops 3 bytes early.
      char* w = o + n;
      const uint8_t* const fast_ascii = fast_ascii_;
      const uint16_t* const fast3_index = fast3_index_;
      const uint8_t* const fast3_blocks = fast3_blocks_;
      while (end - p >= 4) {
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
        // Two unchanged three-byte characters (most of a Chinese message) in one step: one
        // eight-byte load, both looked up, six bytes copied (the capacity invariant leaves room
        // for eight: the rest of the input is at least that).
        if (end - p >= 8) {
          uint64_t pair;
          std::memcpy(&pair, p, 8);
          if ((pair & 0xC0C0F0C0C0F0ull) == 0x8080E08080E0ull) {
            const uint32_t w1 = static_cast<uint32_t>(pair), w2 = static_cast<uint32_t>(pair >> 24);
            const uint8_t k1 = Kind3(fast3_index, fast3_blocks, w1);
            const uint8_t k2 = Kind3(fast3_index, fast3_blocks, w2);
            if ((k1 | k2) == kFastKeep) {
              std::memcpy(w, p, 8);
              w += 6;
              p += 6;
              continue;
            }
            if (k1 != kFastOther && k2 != kFastOther) {
              // A removed character beside a kept one or another removed one (punctuation
              // between words): both here, rather than a step for each through the branches
              // below, which the positions of punctuation in a text make unpredictable.
              std::memcpy(w, p, 4);
              if (k1 == kFastKeep) w += 3;
              else removed_fast(w, k1, static_cast<size_t>(p + 3 - begin));
              std::memcpy(w, p + 3, 4);
              if (k2 == kFastKeep) w += 3;
              else removed_fast(w, k2, static_cast<size_t>(p + 6 - begin));
              p += 6;
              continue;
            }
          }
        }
#endif
        uint32_t word;
        std::memcpy(&word, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap32(word);
#endif
        if ((word & 0x80u) == 0) {
          const uint32_t a = word & 0x7Fu;
          const uint8_t k = fast_ascii[a];
          if (k == kFastKeep) {
            cls |= kAsciiClasses.c[a];
            *w++ = static_cast<char>(a);
          } else if ((k & 1) == 0) {
            break;
          } else {  // removed: the next unchanged characters start a run
            removed_fast(w, k, static_cast<size_t>(p + 1 - begin));
          }
          ++p;
          continue;
        }
        if ((word & 0xC0C0F0u) != 0x8080E0u) break;
        const uint8_t k = Kind3(fast3_index, fast3_blocks, word);
        if (k == kFastKeep) {
          std::memcpy(w, p, 4);  // the capacity invariant leaves room for 4 bytes
          w += 3;
        } else if ((k & 1) == 0) {
          break;
        } else {
          removed_fast(w, k, static_cast<size_t>(p + 3 - begin));
        }
        p += 3;
      }
      n = static_cast<size_t>(w - o);
      if (p >= end) break;
    }
    if (kWithMap && !kCollapse) {
      // The same for the path that records offsets (run when a message has hits): kept ASCII and
      // three-byte characters, with their map entries; everything else (removed characters too,
      // which may end a clause) goes to the general code.
      const uint8_t* const fast_ascii = fast_ascii_;
      const uint16_t* const fast3_index = fast3_index_;
      const uint8_t* const fast3_blocks = fast3_blocks_;
      while (end - p >= 4) {
        uint32_t word;
        std::memcpy(&word, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap32(word);
#endif
        const uint32_t src_b = static_cast<uint32_t>(p - begin);
        if ((word & 0x80u) == 0) {
          const uint32_t a = word & 0x7Fu;
          const uint8_t k = fast_ascii[a];
          if (k != kFastKeep) {
            if ((k & 1) == 0) break;
            if (k == kFastSkipClause) mark_clause();
            ++p;
            ++char_index;
            continue;
          }
          cls |= kAsciiClasses.c[a];
          o[n] = static_cast<char>(a);
          mb[n] = src_b;
          me[n] = src_b + 1;
          ++n;
          ++p;
          ++char_index;
          continue;
        }
        if ((word & 0xC0C0F0u) != 0x8080E0u) break;
        const uint8_t k = Kind3(fast3_index, fast3_blocks, word);
        if (k != kFastKeep) {
          if ((k & 1) == 0) break;
          if (k == kFastSkipClause) mark_clause();
          p += 3;
          ++char_index;
          continue;
        }
        std::memcpy(o + n, p, 4);  // the capacity invariant leaves room for 4 bytes
        for (int k = 0; k < 3; ++k) {
          mb[n + k] = src_b;
          me[n + k] = src_b + 3;
        }
        n += 3;
        p += 3;
        ++char_index;
      }
      if (p >= end) break;
    }
    const unsigned c = p[0];
    uint32_t cp;
    uint32_t e;
    int len;
    bool invalid = false;
    if (c < 0x80) {
      cp = c;
      len = 1;
      e = ascii[c];
      if (!kCollapse && e == 0) {
        cls |= kAsciiClasses.c[c];
        o[n] = static_cast<char>(c);
        if (kWithMap) {
          const uint32_t src_b = static_cast<uint32_t>(p - begin);
          mb[n] = src_b;
          me[n] = src_b + 1;
        }
        ++n;
        ++p;
        ++char_index;
        continue;
      }
    } else {
      uint32_t w = 0;
      if (end - p >= 4) {
        std::memcpy(&w, p, 4);  // one load, read as little-endian: p[0] is the low byte
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap32(w);
#endif
      }
      if (end - p >= 4 && (w & 0xC0C0F0u) == 0x8080E0u) {
        // Three bytes (all of CJK and its punctuation), with a word load.
        cp = ((w & 0x0Fu) << 12) | ((w & 0x3F00u) >> 2) | ((w & 0x3F0000u) >> 16);
        if (cp >= 0x800 && cp - 0xD800u >= 0x800u) {
          len = 3;
          e = blocks[(static_cast<size_t>(stage1[cp >> 7]) << 7) | (cp & 127)];
          if (!kCollapse && e == 0) {
            // Unchanged: copy the bytes (the invariant leaves room for 4), advance 3.
            std::memcpy(o + n, p, 4);
            if (kWithMap) {
              const uint32_t src_b = static_cast<uint32_t>(p - begin);
              for (int k = 0; k < 3; ++k) {
                mb[n + k] = src_b;
                me[n + k] = src_b + 3;
              }
            }
            n += 3;
            p += 3;
            ++char_index;
            continue;
          }
        } else {
          cp = DecodeUtf8Slow(p, end, &len);
        }
      } else {
        cp = DecodeUtf8(p, end, &len);
      }
      if (cp == kInvalidCp) {
        if (invalid_at && *invalid_at == std::string::npos)
          *invalid_at = static_cast<size_t>(p - begin);
        cp = 0xFFFD;
        invalid = true;
        if (kWithMap || kRuns) map->valid_utf8 = false;
      }
      e = cp < 0x110000 ? blocks[(static_cast<size_t>(stage1[cp >> 7]) << 7) | (cp & 127)] : 0;
      if (!kCollapse && e == 0 && !invalid) {
        // Unchanged: copy the bytes (the invariant guarantees the room).
        for (int k = 0; k < len; ++k) o[n + k] = static_cast<char>(p[k]);
        if (kWithMap) {
          const uint32_t src_b = static_cast<uint32_t>(p - begin);
          for (int k = 0; k < len; ++k) {
            mb[n + k] = src_b;
            me[n + k] = src_b + static_cast<uint32_t>(len);
          }
        }
        n += static_cast<size_t>(len);
        p += len;
        ++char_index;
        continue;
      }
    }
    // Replaced, removed, expanded or invalid characters; and every character when collapsing.
    const uint32_t src_b = static_cast<uint32_t>(p - begin);
    const uint32_t src_e = src_b + static_cast<uint32_t>(len);
    const size_t rest = static_cast<size_t>(end - p) - static_cast<size_t>(len);
    uint32_t first = 1;  // of a multi replacement, the first code point emitted
    if (e & kMark) {
      if (p != mark_end) {
        mark_noise = p == begin ? !marks || *marks == MarkState::kNoise
                                : MarksAfterAreNoise(CpEndingAt(begin, p));
      }
      if (!BecomesMarksOnly(e)) {
        // Marks, then other characters: the marks go as decided, the rest stays, and the next
        // mark is decided by this character.
        if (mark_noise) first += pool[e & 0xFFFFFF] >> kPoolLeadShift;
        mark_end = nullptr;
        e &= ~kMark;
      } else {
        mark_end = p + len;
        e = mark_noise ? kSkip : (e & ~kMark);
      }
    }
    if ((kWithMap || kRuns) && (e & kClause)) mark_clause();
    if (kRuns && !(e & kSkip)) start_run(n, src_b, src_e);  // what this character becomes
    if (e & kSkip) {
      // removed
    } else if (e & kMulti) {
      const uint32_t* q = &pool[e & 0xFFFFFF];
      const uint32_t count = q[0] & kPoolCount;
      ensure(rest + 4 * static_cast<size_t>(count) + kSlack);
      for (uint32_t k = first; k <= count; ++k) emit(q[k], src_b, src_e);
    } else {
      ensure(rest + 4 + kSlack);
      const uint32_t to = e & kCpMask;
      emit(to == 0 ? cp : to, src_b, src_e);
    }
    if (n - base > max_out) {
      // Only this path can pass max_out when it is at least the input's size: an unchanged
      // character writes no more than it reads.
      overflow = true;
      break;
    }
    p += len;
    ++char_index;
    start_run(n, static_cast<size_t>(p - begin), OffsetMap::kSame);
  }
  if (n - base > max_out) overflow = true;
  if (marks && begin != end && !overflow) {
    const bool noise = mark_end == end ? mark_noise : MarksAfterAreNoise(CpEndingAt(begin, end));
    *marks = noise ? MarkState::kNoise : MarkState::kKept;
  }
  if (end_out) {
    *end_out = n;  // *out keeps its (larger) size: no shrink now, no zero-fill on the next call
  } else {
    out->resize(n);
  }
  if (classes) *classes = cls;
  if (kWithMap) {
    map->src_begin.resize(n);
    map->src_end.resize(n);
  }
  if (kRuns) map->FinishRuns(n - base);
  return !overflow;
}

template bool Normalizer::Run<true, true>(std::string_view, std::string*, size_t, size_t*,
                                           OffsetMap*, size_t*,
                                          uint32_t*, size_t, MarkState*) const;
template bool Normalizer::Run<true, false>(std::string_view, std::string*, size_t, size_t*,
                                           OffsetMap*, size_t*,
                                           uint32_t*, size_t, MarkState*) const;
template bool Normalizer::Run<false, true>(std::string_view, std::string*, size_t, size_t*,
                                           OffsetMap*, size_t*,
                                           uint32_t*, size_t, MarkState*) const;
template bool Normalizer::Run<false, false>(std::string_view, std::string*, size_t, size_t*,
                                           OffsetMap*, size_t*,
                                            uint32_t*, size_t, MarkState*) const;
template bool Normalizer::Run<false, false, true>(std::string_view, std::string*, size_t,
                                                  size_t*, OffsetMap*, size_t*, uint32_t*, size_t,
                                                  MarkState*) const;

}  // namespace scriptqa::internal
