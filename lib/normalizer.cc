#include "normalizer.h"

#include <algorithm>

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

}  // namespace

// Builds the dense table in three passes, without sets or per-character allocation (this runs on
// every Filter load, so it must take well under a millisecond):
//   1. noise and ignorable ranges become "skip" as if unmapped;
//   2. every code point some map changes is composed (NFKC, fold, T->S) and classified;
//   3. the option's significant / extra-noise characters, clause marks and U+FFFD likewise.
// A later pass overwrites an earlier one; composing a code point twice gives the same entry.
Normalizer::Normalizer(const NormalizationOptions& options) : options_(options) {
  const NormalizationOptions defaults;
  const bool is_default = options.fold_width == defaults.fold_width &&
                          options.fold_case == defaults.fold_case &&
                          options.traditional_to_simplified == defaults.traditional_to_simplified &&
                          options.skip_noise == defaults.skip_noise &&
                          options.significant == defaults.significant &&
                          options.extra_noise == defaults.extra_noise;  // collapse is not in the table
#ifndef SCRIPTQA_NO_BAKED_TABLE
  if (is_default) {
    stage1_ = normtable::kStage1;
    blocks_ = normtable::kBlocks;
    pool_ = normtable::kPool;
  } else
#endif
  {
    (void)is_default;
    Build();
    stage1_ = own_stage1_.data();
    blocks_ = own_blocks_.data();
    pool_ = own_pool_.data();
  }
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

void Normalizer::Build() {
  using namespace normdata;
  const NormalizationOptions& options = options_;
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

  std::vector<uint16_t>& stage1 = own_stage1_;
  std::vector<uint32_t>& blocks = own_blocks_;
  std::vector<uint32_t>& pool = own_pool_;
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
    bool clause = IsClause(cp);
    size_t m = 0;
    for (size_t k = 0; k < n; ++k) {
      clause |= IsClause(a[k]);
      if (!skipped(a[k])) b[m++] = a[k];
    }
    uint32_t entry;
    if (m == 0) {
      entry = kSkip;
    } else if (m == 1 && b[0] == cp) {
      entry = 0;
    } else if (m == 1) {
      entry = b[0];
    } else {
      entry = kMulti | static_cast<uint32_t>(pool.size());
      pool.push_back(static_cast<uint32_t>(m));
      pool.insert(pool.end(), b, b + m);
    }
    if (clause) entry |= kClause;
    write(cp, entry);
  };

  // Pass 1.
  for (size_t i = 0; i < kDropSize; i += 2)
    for (uint32_t c = kDrop[i]; c <= kDrop[i + 1]; ++c) write(c, kSkip);
  if (options.skip_noise)
    for (size_t i = 0; i < kNoiseSize; i += 2)
      for (uint32_t c = kNoise[i]; c <= kNoise[i + 1]; ++c) write(c, kSkip);
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

void Normalizer::Normalize(std::string_view in, std::string* out, OffsetMap* map,
                           size_t* invalid_at, uint32_t* classes) const {
  if (map) {
    Run<true>(in, out, map, invalid_at, classes);
  } else {
    Run<false>(in, out, nullptr, invalid_at, classes);
  }
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

}  // namespace

// The hot loop. Output goes straight into the string's buffer (grown on demand: most messages
// shrink, since noise is removed), and the offset map, when asked for, is written in step.
template <bool kWithMap>
void Normalizer::Run(std::string_view in, std::string* out, OffsetMap* map,
                     size_t* invalid_at, uint32_t* classes) const {
  if (invalid_at) *invalid_at = std::string::npos;
  uint32_t cls = 0;  // character classes emitted (for regex gating)
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* const end = p + in.size();
  const auto* const begin = p;
  const bool collapse = options_.collapse_repeats;

  size_t cap = in.size() + 16;
  if (out->size() < cap) out->resize(cap);
  cap = out->size();
  size_t n = 0;  // bytes written
  if (kWithMap) {
    map->clause_breaks.clear();
    if (map->src_begin.size() < cap) {
      map->src_begin.resize(cap);
      map->src_end.resize(cap);
      map->src_char.resize(cap);
    }
  }
  auto ensure = [&](size_t need) {
    if (cap - n >= need) return;
    cap = std::max(cap * 2, n + need + 16);
    out->resize(cap);
    if (kWithMap) {
      map->src_begin.resize(cap);
      map->src_end.resize(cap);
      map->src_char.resize(cap);
    }
  };
  uint32_t last_cp = kInvalidCp;  // last emitted code point, for collapse_repeats
  size_t last_start = 0;          // output offset of the last emitted character
  uint32_t char_index = 0;        // index of the current source character

  auto mark_clause = [&]() {
    if (kWithMap) {
      uint32_t pos = static_cast<uint32_t>(n);
      if (map->clause_breaks.empty() || map->clause_breaks.back() != pos)
        map->clause_breaks.push_back(pos);
    }
  };
  auto record = [&](size_t from, uint32_t src_b, uint32_t src_e) {
    if (kWithMap) {
      for (size_t k = from; k < n; ++k) {
        map->src_begin[k] = src_b;
        map->src_end[k] = src_e;
        map->src_char[k] = char_index;
      }
    }
  };
  // Emits one code point; handles collapse_repeats.
  auto emit = [&](uint32_t cp, uint32_t src_b, uint32_t src_e) {
    if (collapse && cp == last_cp) {
      if (kWithMap)
        for (size_t k = last_start; k < n; ++k) map->src_end[k] = src_e;
      return;
    }
    ensure(4);
    if (cp < 0x80) cls |= AsciiClass(cp);
    last_start = n;
    last_cp = cp;
    n += static_cast<size_t>(EncodeUtf8(cp, out->data() + n));
    record(last_start, src_b, src_e);
  };

  while (p < end) {
    uint32_t cp;
    int len;
    bool invalid = false;
    if (*p < 0x80) {
      cp = *p;
      len = 1;
    } else {
      cp = DecodeUtf8(p, end, &len);
      if (cp == kInvalidCp) {
        if (invalid_at && *invalid_at == std::string::npos)
          *invalid_at = static_cast<size_t>(p - begin);
        cp = 0xFFFD;
        invalid = true;
      }
    }
    const uint32_t e = Lookup(cp);
    if (e == 0 && !invalid && !collapse) {
      // Identity, the common case: copy the bytes.
      ensure(4);
      const size_t from = n;
      char* w = out->data() + n;
      w[0] = static_cast<char>(p[0]);
      if (len == 1) cls |= AsciiClass(p[0]);
      if (len > 1) {
        w[1] = static_cast<char>(p[1]);
        if (len > 2) {
          w[2] = static_cast<char>(p[2]);
          if (len > 3) w[3] = static_cast<char>(p[3]);
        }
      }
      n += static_cast<size_t>(len);
      if (kWithMap) {
        const uint32_t src_b = static_cast<uint32_t>(p - begin);
        record(from, src_b, src_b + static_cast<uint32_t>(len));
      }
    } else {
      const uint32_t src_b = static_cast<uint32_t>(p - begin);
      const uint32_t src_e = src_b + static_cast<uint32_t>(len);
      if (e & kClause) mark_clause();
      if (e & kSkip) {
        // removed
      } else if (e & kMulti) {
        const uint32_t* q = &pool_[e & 0xFFFFFF];
        for (uint32_t k = 1; k <= q[0]; ++k) emit(q[k], src_b, src_e);
      } else {
        const uint32_t to = e & kCpMask;
        emit(to == 0 ? cp : to, src_b, src_e);
      }
    }
    p += len;
    ++char_index;
  }
  out->resize(n);
  if (classes) *classes = cls;
  if (kWithMap) {
    map->src_begin.resize(n);
    map->src_end.resize(n);
    map->src_char.resize(n);
  }
}

template void Normalizer::Run<true>(std::string_view, std::string*, OffsetMap*, size_t*,
                                    uint32_t*) const;
template void Normalizer::Run<false>(std::string_view, std::string*, OffsetMap*, size_t*,
                                     uint32_t*) const;

}  // namespace scriptqa::internal
