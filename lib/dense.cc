#include "dense.h"

#include "utf8.h"

namespace scriptqa::internal {

namespace {

// Writes the code of the character (or invalid subsequence) at p, of `len` bytes and code point
// cp, to out; returns the bytes written. `back` (may be null) receives the UTF-8 offset `at` for
// each code written and kInside for the bytes inside it.
inline size_t Put(uint32_t cp, const unsigned char* p, int len, unsigned char* out,
                  uint32_t* back, uint32_t at) {
  if (cp >= 0x4E00 && cp <= 0x9FFF) {
    const uint32_t d = cp - 0x4E00;
    out[0] = static_cast<unsigned char>(0x80 + (d >> 8));
    out[1] = static_cast<unsigned char>(d & 0xFF);
    if (back) {
      back[0] = at;
      back[1] = DenseText::kInside;
    }
    return 2;
  }
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
  if (cp < 0x80) {
    out[0] = static_cast<unsigned char>(cp);
    if (back) back[0] = at;
    return 1;
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

// Encodes s[0, n) into out (room for 2n bytes; back too when kBack); returns the bytes written.
template <bool kBack>
size_t EncodeInto(const unsigned char* s, size_t n, unsigned char* out, uint32_t* back) {
  size_t i = 0, j = 0;
  while (i < n) {
    const unsigned c = s[i];
    if (c < 0x80) {  // ASCII: digits, Latin and punctuation
      out[j] = static_cast<unsigned char>(c);
      if constexpr (kBack) back[j] = static_cast<uint32_t>(i);
      ++i;
      ++j;
      continue;
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
        continue;
      }
    }
    size_t w;
    i += EncodeOther(s, i, n, out, j, kBack ? back : nullptr, &w);
    j += w;
  }
  return j;
}

struct DenseScan {
  const DenseText* text;
  const uint32_t* lengths;
  size_t count;
  match_event_handler on_match;
  void* ctx;
};

int OnDense(unsigned id, unsigned long long, unsigned long long to, unsigned flags, void* ctx) {
  const auto* s = static_cast<const DenseScan*>(ctx);
  if (id >= s->count) return 0;  // cannot happen with a validated database
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

std::vector<uint32_t> DenseLengths(const std::vector<std::string>& literals) {
  std::vector<uint32_t> lengths;
  lengths.reserve(literals.size());
  for (const std::string& l : literals)
    lengths.push_back(static_cast<uint32_t>(EncodeDense(l).size()));
  return lengths;
}

void DenseText::Encode(std::string_view utf8) {
  const size_t room = 2 * utf8.size() + 1;
  if (enc_.size() < room) {
    enc_.resize(room);
    back_.resize(room);
  }
  const auto* p = reinterpret_cast<const unsigned char*>(utf8.data());
  size_ = EncodeInto<true>(p, utf8.size(), reinterpret_cast<unsigned char*>(enc_.data()),
                           back_.data());
  back_[size_] = static_cast<uint32_t>(utf8.size());
}

void DenseText::Trim(size_t keep) {
  if (enc_.size() > 2 * keep + 1) {
    std::vector<char>().swap(enc_);
    std::vector<uint32_t>().swap(back_);
    size_ = 0;
  }
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
  DenseScan s{buf, db.dense_lengths->data(), db.dense_lengths->size(), on_match, ctx};
  return hs_scan(db.db, buf->data(), static_cast<unsigned>(buf->size()), 0, scratch, &OnDense,
                 &s);
}

}  // namespace scriptqa::internal
