#include "normalizer.h"

#include <algorithm>
#include <set>

#include "hash.h"
#include "normdata.inc"
#include "utf8.h"

namespace scriptqa::internal {
namespace {

using normdata::kClause;
using normdata::kClauseSize;

// Looks a code point up in a generated map: (cp, pool offset, length) triples sorted by cp.
bool FindMap(const uint32_t* index, size_t index_size, const uint32_t* pool, uint32_t cp,
             std::u32string* out) {
  size_t n = index_size / 3;
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (index[mid * 3] < cp) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == n || index[lo * 3] != cp) return false;
  out->assign(pool + index[lo * 3 + 1], pool + index[lo * 3 + 1] + index[lo * 3 + 2]);
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

std::set<uint32_t> CodePoints(std::string_view s) {
  std::set<uint32_t> out;
  for (char32_t c : DecodeAll(s)) out.insert(static_cast<uint32_t>(c));
  return out;
}

}  // namespace

Normalizer::Normalizer(const NormalizationOptions& options) : options_(options) {
  using namespace normdata;
  const std::set<uint32_t> significant = CodePoints(options.significant);
  const std::set<uint32_t> extra_noise = CodePoints(options.extra_noise);

  auto is_drop = [](uint32_t c) { return InRanges(kDrop, kDropSize, c); };
  auto is_noise = [&](uint32_t c) {
    if (significant.count(c)) return false;
    if (extra_noise.count(c)) return true;
    return InRanges(kNoise, kNoiseSize, c);
  };

  // The code points whose entry may differ from identity.
  std::set<uint32_t> todo(significant.begin(), significant.end());
  todo.insert(extra_noise.begin(), extra_noise.end());
  auto add_keys = [&](const uint32_t* index, size_t size) {
    for (size_t i = 0; i < size; i += 3) todo.insert(index[i]);
  };
  if (options.fold_width) add_keys(kNfkcIndex, kNfkcIndexSize);
  if (options.fold_case) add_keys(kFoldIndex, kFoldIndexSize);
  if (options.traditional_to_simplified) add_keys(kT2sIndex, kT2sIndexSize);
  auto add_ranges = [&](const uint32_t* r, size_t size) {
    for (size_t i = 0; i < size; i += 2)
      for (uint32_t c = r[i]; c <= r[i + 1]; ++c) todo.insert(c);
  };
  add_ranges(kDrop, kDropSize);
  add_ranges(kNoise, kNoiseSize);
  for (size_t i = 0; i < kClauseSize; ++i) todo.insert(normdata::kClause[i]);
  todo.insert(0xFFFD);

  stage1_.assign(0x110000 >> 7, 0);
  blocks_.assign(128, 0);  // block 0: identity
  pool_.clear();

  std::u32string seq, tmp, piece;
  for (uint32_t cp : todo) {
    if (cp >= 0x110000 || (cp >= 0xD800 && cp <= 0xDFFF)) continue;
    seq.assign(1, static_cast<char32_t>(cp));
    if (options.fold_width && FindMap(kNfkcIndex, kNfkcIndexSize, kNfkcPool, cp, &tmp)) seq = tmp;
    if (options.fold_case) {
      tmp.clear();
      for (char32_t c : seq) {
        if (FindMap(kFoldIndex, kFoldIndexSize, kFoldPool, c, &piece)) {
          tmp += piece;
        } else {
          tmp += c;
        }
      }
      seq = tmp;
    }
    if (options.traditional_to_simplified) {
      for (char32_t& c : seq)
        if (FindMap(kT2sIndex, kT2sIndexSize, kT2sPool, c, &piece)) c = piece[0];
    }
    bool clause = IsClause(cp);
    tmp.clear();
    for (char32_t c : seq) {
      if (IsClause(c)) clause = true;
      if (is_drop(c)) continue;
      if (options.skip_noise && is_noise(c)) continue;
      tmp += c;
    }
    uint32_t entry;
    if (tmp.empty()) {
      entry = kSkip;
    } else if (tmp.size() == 1 && tmp[0] == cp) {
      entry = 0;
    } else if (tmp.size() == 1) {
      entry = static_cast<uint32_t>(tmp[0]);
    } else {
      entry = kMulti | static_cast<uint32_t>(pool_.size());
      pool_.push_back(static_cast<uint32_t>(tmp.size()));
      for (char32_t c : tmp) pool_.push_back(static_cast<uint32_t>(c));
    }
    if (clause) entry |= kClause;
    if (entry == 0) continue;
    uint16_t& block = stage1_[cp >> 7];
    if (block == 0) {
      block = static_cast<uint16_t>(blocks_.size() / 128);
      blocks_.resize(blocks_.size() + 128, 0);
    }
    blocks_[(static_cast<size_t>(block) << 7) | (cp & 127)] = entry;
  }

  Hasher h;
  h.U64(kNormDataHash);
  h.U64(options.fold_width);
  h.U64(options.fold_case);
  h.U64(options.traditional_to_simplified);
  h.U64(options.skip_noise);
  h.Str(options.significant);
  h.Str(options.extra_noise);
  h.U64(options.collapse_repeats);
  hash_ = h.value();
}

void Normalizer::Normalize(std::string_view in, std::string* out, OffsetMap* map,
                           size_t* invalid_at) const {
  if (map) {
    Run<true>(in, out, map, invalid_at);
  } else {
    Run<false>(in, out, nullptr, invalid_at);
  }
}

template <bool kWithMap>
void Normalizer::Run(std::string_view in, std::string* out, OffsetMap* map,
                     size_t* invalid_at) const {
  out->clear();
  if (kWithMap) map->Clear();
  if (invalid_at) *invalid_at = std::string::npos;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* end = p + in.size();
  const auto* begin = p;
  const bool collapse = options_.collapse_repeats;
  uint32_t last_cp = kInvalidCp;   // last emitted code point, for collapse_repeats
  size_t last_start = 0;           // output offset of the last emitted character
  uint32_t char_index = 0;

  auto record = [&](size_t out_before, uint32_t src_b, uint32_t src_e) {
    if (kWithMap) {
      size_t n = out->size() - out_before;
      map->src_begin.insert(map->src_begin.end(), n, src_b);
      map->src_end.insert(map->src_end.end(), n, src_e);
      map->src_char.insert(map->src_char.end(), n, char_index);
    }
  };
  auto mark_clause = [&]() {
    if (kWithMap) {
      uint32_t pos = static_cast<uint32_t>(out->size());
      if (map->clause_breaks.empty() || map->clause_breaks.back() != pos)
        map->clause_breaks.push_back(pos);
    }
  };
  // Emits one code point; handles collapse_repeats.
  auto emit = [&](uint32_t cp, uint32_t src_b, uint32_t src_e) {
    if (collapse && cp == last_cp) {
      if (kWithMap)
        for (size_t k = last_start; k < out->size(); ++k) map->src_end[k] = src_e;
      return;
    }
    size_t before = out->size();
    last_start = before;
    last_cp = cp;
    AppendUtf8(cp, out);
    record(before, src_b, src_e);
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
    const uint32_t src_b = static_cast<uint32_t>(p - begin);
    const uint32_t src_e = src_b + static_cast<uint32_t>(len);
    uint32_t e = Lookup(cp);
    if (e & kClause) mark_clause();
    if (e & kSkip) {
      // removed
    } else if ((e & ~kClause) == 0 && !invalid) {
      if (collapse) {
        emit(cp, src_b, src_e);
      } else {
        size_t before = out->size();
        out->append(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
        record(before, src_b, src_e);
      }
    } else if (e & kMulti) {
      const uint32_t* q = &pool_[e & 0xFFFFFF];
      for (uint32_t k = 1; k <= q[0]; ++k) emit(q[k], src_b, src_e);
    } else {
      uint32_t to = e & kCpMask;
      emit(to == 0 ? cp : to, src_b, src_e);
    }
    p += len;
    ++char_index;
  }
}

template void Normalizer::Run<true>(std::string_view, std::string*, OffsetMap*, size_t*) const;
template void Normalizer::Run<false>(std::string_view, std::string*, OffsetMap*, size_t*) const;

}  // namespace scriptqa::internal
