#include "dense.h"

#include <algorithm>
#include <cstring>

#include "utf8.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace scriptqa::internal {

namespace {

// Writes the code of the character (or invalid subsequence) at p, of `len` bytes and code point
// cp, to out; returns the bytes written. `back` (may be null) receives the UTF-8 offset `at` for
// each code written and kInside for the bytes inside it. Only for what Step leaves: neither ASCII
// nor a well-formed character of U+4E00..U+9FFF.
inline size_t Put(uint32_t cp, const unsigned char* p, int len, unsigned char* out,
                  uint32_t* back, uint32_t at) {
  if (cp == kInvalidCp) {
    for (int k = 0; k < len; ++k) {
      out[2 * k] = 0xFD;
      out[2 * k + 1] = p[k];
      if (back) {
        back[2 * k] = at + static_cast<uint32_t>(k);
        back[2 * k + 1] = DenseText::kInside;
      }
    }
    return 2 * static_cast<size_t>(len);
  }
  size_t n;
  if (cp < 0x10000) {
    out[0] = 0xFF;
    out[1] = static_cast<unsigned char>(cp >> 8);
    out[2] = static_cast<unsigned char>(cp & 0xFF);
    n = 3;
  } else {
    out[0] = 0xFE;
    out[1] = static_cast<unsigned char>(cp >> 16);
    out[2] = static_cast<unsigned char>((cp >> 8) & 0xFF);
    out[3] = static_cast<unsigned char>(cp & 0xFF);
    n = 4;
  }
  if (back) {
    back[0] = at;
    for (size_t k = 1; k < n; ++k) back[k] = DenseText::kInside;
  }
  return n;
}

// The code of the character (or invalid subsequence) at s + i, i < n, written at out + j with its
// back offsets (when back is not null); returns the bytes consumed, *written the bytes written.
// Out of line: the loop below keeps ASCII and the CJK block in registers.
__attribute__((noinline)) size_t EncodeOther(const unsigned char* s, size_t i, size_t n,
                                             unsigned char* out, size_t j, uint32_t* back,
                                             size_t* written) {
  int len;
  const uint32_t cp = DecodeUtf8(s + i, s + n, &len);
  *written = Put(cp, s + i, len, out + j, back ? back + j : nullptr, static_cast<uint32_t>(i));
  return static_cast<size_t>(len);
}

// One character (or invalid subsequence) at s + i, i < n: its code at out + j, its back offsets
// when kBack; advances i and j.
template <bool kBack>
__attribute__((always_inline)) inline void Step(const unsigned char* s, size_t n,
                                                unsigned char* out, uint32_t* back, size_t& i,
                                                size_t& j) {
  const unsigned c = s[i];
  if (c < 0x80) {  // ASCII: digits, Latin and punctuation
    out[j] = static_cast<unsigned char>(c);
    if constexpr (kBack) back[j] = static_cast<uint32_t>(i);
    ++i;
    ++j;
    return;
  }
  // Well-formed U+4E00..U+9FFF (lead bytes E4..E9): most of a Chinese message.
  if (c - 0xE4u <= 5u && n - i >= 3) {
    const unsigned c1 = s[i + 1] ^ 0x80u, c2 = s[i + 2] ^ 0x80u;
    const uint32_t d = (((c & 0x0Fu) << 12) | (c1 << 6) | c2) - 0x4E00u;
    if ((c1 | c2) < 0x40u && d < 0x5200u) {
      out[j] = static_cast<unsigned char>(0x80 + (d >> 8));
      out[j + 1] = static_cast<unsigned char>(d);
      if constexpr (kBack) {
        back[j] = static_cast<uint32_t>(i);
        back[j + 1] = DenseText::kInside;
      }
      i += 3;
      j += 2;
      return;
    }
  }
  size_t w;
  i += EncodeOther(s, i, n, out, j, kBack ? back : nullptr, &w);
  j += w;
}

// Encodes s[0, n) into out (room for 2n bytes; back too when kBack); returns the bytes written.
template <bool kBack>
size_t EncodeInto(const unsigned char* s, size_t n, unsigned char* out, uint32_t* back) {
  size_t i = 0, j = 0;
  while (i < n) Step<kBack>(s, n, out, back, i, j);
  return j;
}

#if defined(__x86_64__)
// Moves past the `taken` characters a vector step encoded (three input bytes, two output bytes
// each). Most steps take all kAll characters: a branch the processor predicts lets the next step's
// loads start before this step's count is known, where i += 3 * taken would make each step wait
// for the last one's compares.
template <unsigned kAll>
inline void Advance(unsigned taken, size_t& i, size_t& j) {
  if (__builtin_expect(taken == kAll, 1)) {
    i += 3 * kAll;
    j += 2 * kAll;
  } else {
    i += 3 * taken;
    j += 2 * taken;
  }
}

// The SSSE3 step: at p (16 readable bytes, of which `avail` are the text's, from input offset
// `at`), a run of ASCII bytes, or up to four well-formed U+4E00..U+9FFF characters (twelve bytes),
// encoded together; false when p starts with neither. The codes are those of Step. Stores may
// write up to 16 entries past what the step produces: the buffers have that much slack beyond
// two output bytes per input byte, and later steps overwrite them.
template <bool kBack>
__attribute__((target("ssse3"), always_inline)) inline bool Block16(
    const unsigned char* p, size_t avail, size_t at, unsigned char* out, uint32_t* back,
    size_t& i, size_t& j) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const unsigned non_ascii = static_cast<unsigned>(_mm_movemask_epi8(v));
  if ((non_ascii & 1) == 0) {  // a run of ASCII
    size_t k = non_ascii == 0 ? 16 : static_cast<size_t>(__builtin_ctz(non_ascii));
    if (k > avail) k = avail;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j), v);
    if constexpr (kBack) {
      const __m128i four = _mm_set1_epi32(4);
      __m128i pos = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(at)), _mm_setr_epi32(0, 1, 2, 3));
      for (int q = 0; q < 4; ++q, pos = _mm_add_epi32(pos, four))
        _mm_storeu_si128(reinterpret_cast<__m128i*>(back + j + 4 * q), pos);
    }
    i += k;
    j += k;
    return true;
  }
  // The lead, second and third byte of each of four characters, as 16-bit lanes (lanes 4..7
  // are zero, which no check below takes).
  const __m128i lead = _mm_shuffle_epi8(
      v, _mm_setr_epi8(0, -1, 3, -1, 6, -1, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i c1 = _mm_shuffle_epi8(
      v, _mm_setr_epi8(1, -1, 4, -1, 7, -1, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i c2 = _mm_shuffle_epi8(
      v, _mm_setr_epi8(2, -1, 5, -1, 8, -1, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m128i cont = _mm_set1_epi16(0xC0), cont_bits = _mm_set1_epi16(0x80);
  const __m128i shaped = _mm_and_si128(
      _mm_cmpeq_epi16(_mm_and_si128(lead, _mm_set1_epi16(0xF0)), _mm_set1_epi16(0xE0)),
      _mm_and_si128(_mm_cmpeq_epi16(_mm_and_si128(c1, cont), cont_bits),
                    _mm_cmpeq_epi16(_mm_and_si128(c2, cont), cont_bits)));
  const __m128i low6 = _mm_set1_epi16(0x3F);
  const __m128i cp = _mm_or_si128(
      _mm_or_si128(_mm_slli_epi16(_mm_and_si128(lead, _mm_set1_epi16(0x0F)), 12),
                   _mm_slli_epi16(_mm_and_si128(c1, low6), 6)),
      _mm_and_si128(c2, low6));
  const __m128i d = _mm_sub_epi16(cp, _mm_set1_epi16(0x4E00));
  // d < 0x5200 as unsigned 16-bit numbers.
  const __m128i in_block =
      _mm_cmplt_epi16(_mm_xor_si128(d, _mm_set1_epi16(static_cast<short>(0x8000))),
                      _mm_set1_epi16(static_cast<short>(0x5200 ^ 0x8000)));
  // Two mask bits per lane; the leading lanes that are characters of the block are taken.
  const unsigned ok = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(shaped, in_block)));
  const unsigned taken = static_cast<unsigned>(__builtin_ctz(~ok)) >> 1;
  if (taken == 0) return false;
  const __m128i code = _mm_or_si128(
      _mm_add_epi16(_mm_srli_epi16(d, 8), _mm_set1_epi16(0x80)), _mm_slli_epi16(d, 8));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out + j), code);
  if constexpr (kBack) {
    const __m128i pos = _mm_set1_epi32(static_cast<int>(at));
    const __m128i inside = _mm_setr_epi32(0, -1, 0, -1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(back + j),
                     _mm_or_si128(_mm_add_epi32(pos, _mm_setr_epi32(0, 0, 3, 0)), inside));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(back + j + 4),
                     _mm_or_si128(_mm_add_epi32(pos, _mm_setr_epi32(6, 0, 9, 0)), inside));
  }
  Advance<4>(taken, i, j);
  return true;
}

// Encodes s[i, n) with SSSE3 steps from input offset i and output offset j on; returns the bytes
// written in all.
template <bool kBack>
__attribute__((target("ssse3"), always_inline)) inline size_t EncodeFrom16(
    const unsigned char* s, size_t n, unsigned char* out, uint32_t* back, size_t i, size_t j) {
  while (n - i >= 16) {
    if (!Block16<kBack>(s + i, n - i, i, out, back, i, j)) Step<kBack>(s, n, out, back, i, j);
  }
  if (i < n) {
    // The last bytes, copied with zeros after them so that the blocks can read 16.
    alignas(16) unsigned char tail[32] = {};
    const size_t base = i;
    std::memcpy(tail, s + i, n - i);
    while (i < n) {
      if (!Block16<kBack>(tail + (i - base), n - i, i, out, back, i, j))
        Step<kBack>(s, n, out, back, i, j);
    }
  }
  return j;
}

template <bool kBack>
__attribute__((target("ssse3"))) size_t EncodeInto16(const unsigned char* s, size_t n,
                                                    unsigned char* out, uint32_t* back) {
  return EncodeFrom16<kBack>(s, n, out, back, 0, 0);
}

bool HasSsse3() {
  static const bool has = __builtin_cpu_supports("ssse3");
  return has;
}

// The AVX2 step: Block16's, for up to eight well-formed U+4E00..U+9FFF characters (24 bytes) at
// once. p has 28 readable bytes: the two 128-bit lanes hold p[0, 16) and p[12, 28), so the four
// characters of each lane start where Block16's do; the second lane's count only when the first
// lane's four are all taken. A step starting with ASCII is Block16's. Stores may write up to 16
// code bytes and 16 back entries past what the step produces (the slack Block16 relies on).
template <bool kBack>
__attribute__((target("avx2"), always_inline)) inline bool Block32(
    const unsigned char* p, size_t avail, size_t at, unsigned char* out, uint32_t* back,
    size_t& i, size_t& j) {
  if ((p[0] & 0x80) == 0) return Block16<kBack>(p, avail, at, out, back, i, j);
  const __m256i v = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 12)), 1);
  const __m256i lead = _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(0, -1, 3, -1, 6, -1, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                          0, -1, 3, -1, 6, -1, 9, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i c1 = _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(1, -1, 4, -1, 7, -1, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                          1, -1, 4, -1, 7, -1, 10, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i c2 = _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(2, -1, 5, -1, 8, -1, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                          2, -1, 5, -1, 8, -1, 11, -1, -1, -1, -1, -1, -1, -1, -1, -1));
  const __m256i cont = _mm256_set1_epi16(0xC0), cont_bits = _mm256_set1_epi16(0x80);
  const __m256i shaped = _mm256_and_si256(
      _mm256_cmpeq_epi16(_mm256_and_si256(lead, _mm256_set1_epi16(0xF0)), _mm256_set1_epi16(0xE0)),
      _mm256_and_si256(_mm256_cmpeq_epi16(_mm256_and_si256(c1, cont), cont_bits),
                       _mm256_cmpeq_epi16(_mm256_and_si256(c2, cont), cont_bits)));
  const __m256i low6 = _mm256_set1_epi16(0x3F);
  const __m256i cp = _mm256_or_si256(
      _mm256_or_si256(_mm256_slli_epi16(_mm256_and_si256(lead, _mm256_set1_epi16(0x0F)), 12),
                      _mm256_slli_epi16(_mm256_and_si256(c1, low6), 6)),
      _mm256_and_si256(c2, low6));
  const __m256i d = _mm256_sub_epi16(cp, _mm256_set1_epi16(0x4E00));
  // d < 0x5200 as unsigned 16-bit numbers.
  const __m256i in_block =
      _mm256_cmpgt_epi16(_mm256_set1_epi16(static_cast<short>(0x5200 ^ 0x8000)),
                         _mm256_xor_si256(d, _mm256_set1_epi16(static_cast<short>(0x8000))));
  const unsigned ok =
      static_cast<unsigned>(_mm256_movemask_epi8(_mm256_and_si256(shaped, in_block)));
  // Two bits per character: the first lane's four in bits 0..7, the second's in 16..23.
  const unsigned both = (ok & 0xFFu) | ((ok >> 8) & 0xFF00u);
  const unsigned taken = static_cast<unsigned>(__builtin_ctz(~both)) >> 1;
  if (taken == 0) return false;
  const __m256i code = _mm256_or_si256(
      _mm256_add_epi16(_mm256_srli_epi16(d, 8), _mm256_set1_epi16(0x80)), _mm256_slli_epi16(d, 8));
  // The codes of the first lane's characters are its bytes 0..7, the second's its bytes 0..7:
  // 64-bit elements 0 and 2.
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out + j),
                   _mm256_castsi256_si128(_mm256_permute4x64_epi64(code, 0x08)));
  if constexpr (kBack) {
    const __m256i pos = _mm256_set1_epi32(static_cast<int>(at));
    const __m256i inside = _mm256_setr_epi32(0, -1, 0, -1, 0, -1, 0, -1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(back + j),
                        _mm256_or_si256(_mm256_add_epi32(pos, _mm256_setr_epi32(0, 0, 3, 0, 6, 0, 9, 0)),
                                        inside));
    _mm256_storeu_si256(
        reinterpret_cast<__m256i*>(back + j + 8),
        _mm256_or_si256(_mm256_add_epi32(pos, _mm256_setr_epi32(12, 0, 15, 0, 18, 0, 21, 0)),
                        inside));
  }
  Advance<8>(taken, i, j);
  return true;
}

template <bool kBack>
__attribute__((target("avx2"))) size_t EncodeInto32(const unsigned char* s, size_t n,
                                                    unsigned char* out, uint32_t* back) {
  size_t i = 0, j = 0;
  while (n - i >= 32) {
    if (!Block32<kBack>(s + i, n - i, i, out, back, i, j)) Step<kBack>(s, n, out, back, i, j);
  }
  return EncodeFrom16<kBack>(s, n, out, back, i, j);
}

bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

struct DenseScan {
  const DenseText* text;
  const uint32_t* lengths;
  size_t count;
  const SuffixGroups* groups;
  match_event_handler on_match;
  void* ctx;
};

int OnDense(unsigned id, unsigned long long, unsigned long long to, unsigned flags, void* ctx) {
  const auto* s = static_cast<const DenseScan*>(ctx);
  if (id >= s->count) {  // the ending of a group
    if (s->groups == nullptr || id - s->count >= s->groups->size()) return 0;  // cannot happen
    return s->groups->ForEachMember(id - s->count, *s->text, static_cast<size_t>(to),
                                    s->on_match, flags, s->ctx);
  }
  const uint32_t len = s->lengths[id];
  if (to < len) return 0;
  const uint32_t from = s->text->back(static_cast<size_t>(to - len));
  if (from == DenseText::kInside) return 0;  // began inside a character's code
  return s->on_match(id, from, s->text->back(static_cast<size_t>(to)), flags, s->ctx);
}

}  // namespace

std::string EncodeDense(std::string_view utf8) {
  std::string out(2 * utf8.size(), '\0');
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  out.resize(EncodeInto<false>(p, utf8.size(), reinterpret_cast<unsigned char*>(out.data()),
                               nullptr));
  return out;
}

void DenseText::Encode(std::string_view utf8) {
  // Two output bytes per input byte at most, the end entry of back_, and 16 bytes of slack for
  // the 16-byte stores of the last steps.
  const size_t room = 2 * utf8.size() + 17;
  if (enc_.size() < room) {
    enc_.resize(room);
    back_.resize(room);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  auto* out = reinterpret_cast<unsigned char*>(enc_.data());
#if defined(__x86_64__)
  if (HasAvx2()) {
    size_ = EncodeInto32<true>(p, utf8.size(), out, back_.data());
  } else if (HasSsse3()) {
    size_ = EncodeInto16<true>(p, utf8.size(), out, back_.data());
  } else {
    size_ = EncodeInto<true>(p, utf8.size(), out, back_.data());
  }
#else
  size_ = EncodeInto<true>(p, utf8.size(), out, back_.data());
#endif
  back_[size_] = static_cast<uint32_t>(utf8.size());
}

void DenseText::Trim(size_t keep) {
  if (enc_.size() > 2 * keep + 17) {
    std::vector<char>().swap(enc_);
    std::vector<uint32_t>().swap(back_);
    size_ = 0;
  }
}

SuffixGroups::SuffixGroups(const std::vector<std::string>& encoded) {
  // (ending, id) of every literal at least kEnding long, sorted: the literals sharing an ending
  // are a run, in id order. (Sorting, not a map of lists: this runs at every load.)
  std::vector<std::pair<uint64_t, uint32_t>> by_ending;
  for (size_t i = 0; i < encoded.size(); ++i) {
    const std::string& e = encoded[i];
    if (e.size() < kEnding) continue;
    uint64_t key;
    std::memcpy(&key, e.data() + e.size() - kEnding, kEnding);
    by_ending.emplace_back(key, static_cast<uint32_t>(i));
  }
  std::sort(by_ending.begin(), by_ending.end());
  // The runs long enough, in the order of their first member, so that the grouping (and the
  // engine ids of the endings) depend on the literals alone.
  std::vector<std::pair<uint32_t, size_t>> runs;  // (first id, index in by_ending)
  for (size_t b = 0, e = 0; b < by_ending.size(); b = e) {
    for (e = b + 1; e < by_ending.size() && by_ending[e].first == by_ending[b].first; ++e) {
    }
    if (e - b >= kMinMembers) runs.emplace_back(by_ending[b].second, b);
  }
  std::sort(runs.begin(), runs.end());
  grouped_.assign(encoded.size(), false);
  groups_.reserve(runs.size());
  std::vector<std::pair<std::string_view, uint32_t>> members;  // (encoding, id)
  for (const auto& [first, b] : runs) {
    Group g;
    const std::string& e0 = encoded[first];
    g.ending = e0.substr(e0.size() - kEnding);
    for (size_t k = b; k < by_ending.size() && by_ending[k].first == by_ending[b].first; ++k) {
      const uint32_t id = by_ending[k].second;
      grouped_[id] = true;
      const std::string& e = encoded[id];
      if (e.size() > kEnding) {
        const auto c = static_cast<unsigned char>(e[e.size() - kEnding - 1]);
        g.before[c >> 6] |= uint64_t{1} << (c & 63);
      }
      g.lengths.push_back(static_cast<uint32_t>(e.size()));
      members.emplace_back(e, id);
    }
    std::sort(g.lengths.begin(), g.lengths.end());
    g.lengths.erase(std::unique(g.lengths.begin(), g.lengths.end()), g.lengths.end());
    groups_.push_back(std::move(g));
  }
  // Each distinct encoding once in arena_, with the ids of the literals that have it.
  std::sort(members.begin(), members.end());
  size_t bytes = 0;
  for (size_t k = 0; k < members.size(); ++k)
    if (k == 0 || members[k].first != members[k - 1].first) bytes += members[k].first.size();
  arena_.reserve(bytes);
  ids_.reserve(members.size());
  members_.reserve(members.size());
  for (size_t k = 0; k < members.size();) {
    const std::string_view e = members[k].first;
    const size_t at = arena_.size();
    arena_.insert(arena_.end(), e.begin(), e.end());
    const uint32_t first_id = static_cast<uint32_t>(ids_.size());
    for (; k < members.size() && members[k].first == e; ++k) ids_.push_back(members[k].second);
    members_.emplace(absl::string_view(arena_.data() + at, e.size()),
                     std::make_pair(first_id, static_cast<uint32_t>(ids_.size()) - first_id));
  }
}

int SuffixGroups::ForEachMember(size_t g, const DenseText& text, size_t to,
                                match_event_handler on_match, unsigned flags, void* ctx) const {
  const Group& group = groups_[g];
  const bool longer =
      to > kEnding && [&] {
        const auto b = static_cast<unsigned char>(text.data()[to - kEnding - 1]);
        return (group.before[b >> 6] >> (b & 63) & 1) != 0;
      }();
  for (uint32_t len : group.lengths) {
    if (len > to || (len > kEnding && !longer)) break;
    const size_t from = to - len;
    const uint32_t at = text.back(from);
    if (at == DenseText::kInside) continue;
    auto it = members_.find(absl::string_view(text.data() + from, len));
    if (it == members_.end()) continue;
    const uint32_t end = text.back(to);
    for (uint32_t k = 0; k < it->second.second; ++k) {
      const int r = on_match(ids_[it->second.first + k], at, end, flags, ctx);
      if (r != 0) return r;
    }
  }
  return 0;
}

bool PreferDense(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  size_t long_ones = 0;
  for (const auto* v : {&a, &b})
    for (const std::string& l : *v) long_ones += l.size() > 8;
  return long_ones >= 32768;
}

hs_error_t ScanLiterals(const LiteralDb& db, std::string_view utf8, DenseText* buf,
                        hs_scratch_t* scratch, match_event_handler on_match, void* ctx) {
  if (utf8.empty()) return HS_SUCCESS;
  if (!db.dense)
    return hs_scan(db.db, utf8.data(), static_cast<unsigned>(utf8.size()), 0, scratch, on_match,
                   ctx);
  buf->Encode(utf8);
  return ScanEncoded(db, *buf, scratch, on_match, ctx);
}

hs_error_t ScanEncoded(const LiteralDb& db, const DenseText& text, hs_scratch_t* scratch,
                       match_event_handler on_match, void* ctx) {
  if (text.size() == 0) return HS_SUCCESS;
  DenseScan s{&text, db.dense_lengths->data(), db.dense_lengths->size(), db.groups, on_match,
              ctx};
  return hs_scan(db.db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, &OnDense,
                 &s);
}

}  // namespace scriptqa::internal
