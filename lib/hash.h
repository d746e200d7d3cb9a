// A stable 64-bit hash (FNV-1a): the same bytes give the same value in every process and on every
// machine, unlike absl::Hash. Used to key compiled databases; not a cryptographic hash.
#ifndef SCRIPTQA_LIB_HASH_H_
#define SCRIPTQA_LIB_HASH_H_

#include <cstdint>
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

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_HASH_H_
