// Little-endian binary writer and a bounds-checked reader for the serialized database format.
// The reader never reads past its input: every accessor fails (returns false) instead.
#ifndef SCRIPTQA_LIB_SERIAL_H_
#define SCRIPTQA_LIB_SERIAL_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace scriptqa::internal {

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s.data(), s.size());
  }
  void Strs(const std::vector<std::string>& v) {
    U32(static_cast<uint32_t>(v.size()));
    for (const auto& s : v) Str(s);
  }
  void Raw(std::string_view s) { out_.append(s.data(), s.size()); }
  std::string& data() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    if (in_.size() < 1) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) {
    if (in_.size() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(4);
    return true;
  }
  bool U64(uint64_t* v) {
    if (in_.size() < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(8);
    return true;
  }
  bool StrView(std::string_view* s) {
    uint64_t n;
    if (!U64(&n) || n > in_.size()) return false;
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool Str(std::string* s) {
    std::string_view v;
    if (!StrView(&v)) return false;
    s->assign(v.data(), v.size());
    return true;
  }
  bool Strs(std::vector<std::string>* v) {
    uint32_t n;
    if (!U32(&n) || n > in_.size() / 8) return false;  // each string needs >= 8 bytes
    v->resize(n);
    for (auto& s : *v)
      if (!Str(&s)) return false;
    return true;
  }
  bool Bool(bool* b) {
    uint8_t v;
    if (!U8(&v) || v > 1) return false;
    *b = v == 1;
    return true;
  }
  size_t remaining() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_SERIAL_H_
