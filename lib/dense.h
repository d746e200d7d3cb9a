// A denser alphabet for large literal databases. The engine's literal matcher costs about the same
// per byte whatever it looks for, and a literal longer than its 8-byte short-literal path costs a
// long-literal check after every candidate: UTF-8 spends three bytes on a Chinese character, this
// encoding two, so the text is shorter and a four-character term fits the short path. Encoding
// the text (four or eight characters per SSSE3 or AVX2 step) costs about 5 instructions per
// byte, which pays only for sets of many long literals
// (the default packs' 130k literals: the scan costs 26 fewer per byte); PreferDense decides per
// set, and a set compiled dense is scanned with ScanLiterals, which encodes the text first.
//
// The encoding, one code per character:
//   U+0000..U+007F  one byte, itself
//   U+4E00..U+9FFF  two bytes: 0x80 + (d >> 8), d & 0xFF, where d = cp - 0x4E00 (0x80..0xD1 first)
//   other BMP       three bytes: 0xFF, cp >> 8, cp & 0xFF
//   U+10000 and up  four bytes: 0xFE, cp >> 16, (cp >> 8) & 0xFF, cp & 0xFF
//   a byte of an invalid UTF-8 sequence: two bytes, 0xFD and the byte
// The first byte of a code tells its length, so the encoding is a prefix code: an encoded literal
// occurring in an encoded text at the start of a code is an occurrence of the literal in the text.
// The second byte of a code can look like the first byte of another, so the engine can also report
// an occurrence starting inside a code; ScanDense drops those (it knows each literal's encoded
// length and where the codes start).
//
// Offsets handed to callbacks are byte offsets of the UTF-8 text that was encoded.
#ifndef SCRIPTQA_LIB_DENSE_H_
#define SCRIPTQA_LIB_DENSE_H_

#include <hs.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace scriptqa::internal {

// The encoding of `utf8` (any bytes; invalid sequences are encoded byte by byte).
std::string EncodeDense(std::string_view utf8);

// Whether a literal database of the literals of `a` and `b` is compiled from the dense encoding:
// when at least 32,768 of them are longer than 8 bytes in UTF-8. A pure function of the literals,
// so a deserialized filter decides as the compiled one did.
bool PreferDense(const std::vector<std::string>& a, const std::vector<std::string>& b = {});

// A text in the dense encoding with the way back to its UTF-8 offsets. Not thread-safe; reused
// from message to message (buffers only grow, until Trim).
class DenseText {
 public:
  static constexpr uint32_t kInside = UINT32_MAX;  // back(): not the start of a code

  // Encodes `utf8` (at most 2 GiB), replacing what was held.
  void Encode(std::string_view utf8);
  const char* data() const { return enc_.data(); }
  size_t size() const { return size_; }
  // The UTF-8 offset of encoded offset j (0 <= j <= size()): where the code starting at j
  // begins, size of the UTF-8 text for j == size(), kInside when j is inside a code.
  uint32_t back(size_t j) const { return back_[j]; }
  // Gives the buffers back when they hold room for more than `keep` input bytes.
  void Trim(size_t keep);

 private:
  std::vector<char> enc_;
  std::vector<uint32_t> back_;
  size_t size_ = 0;
};

// Literals that share their last kEnding encoded bytes with many others. The engine's literal
// matcher finds a literal longer than eight bytes by its last eight, then checks, one after
// another, every literal that ends in them: a word class in front of a common ending (169 literals
// end in 帮您处理) costs that many checks wherever the ending occurs, in messages that hold none
// of them. Such a group is compiled as one literal, its ending; at each occurrence of the ending,
// ForEachMember finds the members that end there with one lookup per member length, after a
// test of the byte just before the ending.
//
// A pure function of the encoded literals, so a deserialized database is grouped as it was
// compiled. Immutable after construction (thread-safe to share).
class SuffixGroups {
 public:
  static constexpr size_t kEnding = 8;      // bytes of the shared ending
  static constexpr size_t kMinMembers = 8;  // fewer literals with an ending stay on their own

  SuffixGroups() = default;
  // Groups `encoded` (the encoded literals; literal i is engine id i).
  explicit SuffixGroups(const std::vector<std::string>& encoded);
  // Movable, not copyable: the lookup's keys point into arena_.
  SuffixGroups(SuffixGroups&&) = default;
  SuffixGroups& operator=(SuffixGroups&&) = default;
  SuffixGroups(const SuffixGroups&) = delete;
  SuffixGroups& operator=(const SuffixGroups&) = delete;

  // Whether literal `id` is compiled as its group's ending rather than on its own.
  bool grouped(size_t id) const { return id < grouped_.size() && grouped_[id]; }
  size_t size() const { return groups_.size(); }
  const std::string& ending(size_t g) const { return groups_[g].ending; }
  // Calls on_match(id, from, to, flags, ctx) with UTF-8 offsets for each member of group g
  // occurring in `text` at a character and ending at encoded offset `to` (an occurrence of the
  // group's ending ends there), shortest first and, for one length, in id order; returns the
  // first non-zero value on_match returns (and stops), else 0.
  int ForEachMember(size_t g, const DenseText& text, size_t to, match_event_handler on_match,
                    unsigned flags, void* ctx) const;

 private:
  struct Group {
    std::string ending;
    uint64_t before[4] = {};        // the byte before the ending in members longer than it
    std::vector<uint32_t> lengths;  // distinct encoded lengths of the members, ascending
  };
  std::vector<bool> grouped_;
  std::vector<Group> groups_;
  // A member's encoding (in arena_) -> its engine ids: ids_[first, first + count).
  std::vector<char> arena_;
  absl::flat_hash_map<absl::string_view, std::pair<uint32_t, uint32_t>> members_;
  std::vector<uint32_t> ids_;
};

// A compiled literal database and how it reads text.
struct LiteralDb {
  const hs_database_t* db = nullptr;
  bool dense = false;                           // compiled from EncodeDense(literal)
  const std::vector<uint32_t>* dense_lengths = nullptr;  // dense: encoded length per engine id
  // dense: literals compiled as their group's ending; engine id dense_lengths->size() + g is
  // the ending of group g. Null: none.
  const SuffixGroups* groups = nullptr;
};

// Scans the UTF-8 text `utf8` with a block-mode database (a literal one, or any other with dense
// false); a dense one reads it encoded into `buf`. `on_match` receives UTF-8 offsets (from, to) relative to utf8 of every occurrence
// (for a dense database: those starting at a character), in the engine's order; returning
// non-zero stops the scan (HS_SCAN_TERMINATED, as with hs_scan).
hs_error_t ScanLiterals(const LiteralDb& db, std::string_view utf8, DenseText* buf,
                        hs_scratch_t* scratch, match_event_handler on_match, void* ctx);
// The same for a dense database on a text already encoded (offsets relative to its UTF-8 text).
hs_error_t ScanEncoded(const LiteralDb& db, const DenseText& text, hs_scratch_t* scratch,
                       match_event_handler on_match, void* ctx);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_DENSE_H_
