// A stable 64-bit hash (FNV-1a): the same bytes give the same value in every process and on every
// machine, unlike absl::Hash. Used to key compiled databases; not a cryptographic hash.
#ifndef SCRIPTQA_LIB_HASH_H_
#define SCRIPTQA_LIB_HASH_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace scriptqa::internal {

class Hasher {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 1099511628211ull;
    }
  }
  void U64(uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    Bytes(b, 8);
  }
  // Length-prefixed, so ("ab","c") and ("a","bc") differ.
  void Str(std::string_view s) {
    U64(s.size());
    Bytes(s.data(), s.size());
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 1469598103934665603ull;
};

// The checksum of serialized databases: 8 bytes per step, so that verifying a large database costs
// a fraction of a millisecond. Words are read in host byte order (databases are platform-bound).
inline uint64_t Checksum64(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 29;
  return h;
}

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_HASH_H_
