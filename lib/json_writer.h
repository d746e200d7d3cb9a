// Internal: a small JSON writer for rows written once per conversation (building an
// nlohmann::ordered_json object per row cost more than scoring the conversation). The output is
// what nlohmann's dump() writes: strings escaped the same way (ensure_ascii off), doubles as the
// shortest text that reads back to the same value, integral doubles with ".0".
#ifndef SCRIPTQA_LIB_JSON_WRITER_H_
#define SCRIPTQA_LIB_JSON_WRITER_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace scriptqa::internal {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }

  void Key(std::string_view key) {
    Separate();
    String(key);
    out_->push_back(':');
    after_key_ = true;
  }
  void Null() { Value("null"); }
  void Bool(bool b) { Value(b ? "true" : "false"); }
  void Int(int64_t v) {
    Separate();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_->append(buf, r.ptr);
  }
  void Double(double v) {
    Separate();
    char buf[40];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    std::string_view s(buf, r.ptr - buf);
    out_->append(s);
    if (s.find_first_of(".eEn") == std::string_view::npos) out_->append(".0");
  }
  void Str(std::string_view s) {
    Separate();
    String(s);
  }
  // A string, or null when empty.
  void StrOrNull(std::string_view s) {
    if (s.empty()) {
      Null();
    } else {
      Str(s);
    }
  }

 private:
  void Value(std::string_view literal) {
    Separate();
    out_->append(literal);
  }
  void Open(char c) {
    Separate();
    out_->push_back(c);
    first_ = true;
  }
  void Close(char c) {
    out_->push_back(c);
    first_ = false;
  }
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  // Escaped as nlohmann's dump() escapes; text that is not valid UTF-8 goes through nlohmann
  // itself (U+FFFD for the invalid bytes, as its error_handler_t::replace writes them).
  void String(std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    if (!ValidUtf8(s)) {
      out_->append(nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      return;
    }
    out_->push_back('"');
    for (char ch : s) {
      unsigned char c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"': out_->append("\\\""); break;
        case '\\': out_->append("\\\\"); break;
        case '\b': out_->append("\\b"); break;
        case '\f': out_->append("\\f"); break;
        case '\n': out_->append("\\n"); break;
        case '\r': out_->append("\\r"); break;
        case '\t': out_->append("\\t"); break;
        default:
          if (c < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
            out_->append(u, 6);
          } else {
            out_->push_back(ch);
          }
      }
    }
    out_->push_back('"');
  }
  static bool ValidUtf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        ++i;
        continue;
      }
      size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
      if (n == 0 || c == 0xC0 || c == 0xC1 || c > 0xF4 || i + n > s.size()) return false;
      uint32_t cp = c & (0xFF >> (n + 1));
      for (size_t k = 1; k < n; ++k) {
        unsigned char d = static_cast<unsigned char>(s[i + k]);
        if ((d & 0xC0) != 0x80) return false;
        cp = cp << 6 | (d & 0x3F);
      }
      if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
      i += n;
    }
    return true;
  }

  std::string* out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_JSON_WRITER_H_
