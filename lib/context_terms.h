// The context lists of a filter — speech-act cues and pseudo-cues, companions (`with`), exemptions
// (`unless`, `unless-before/after`, `reset-by`), negation and required-context terms — compiled
// into one literal database. Once the engine has found raw hits in a message, one pass of that
// database over the normalised message finds every occurrence of every context term, and the
// confirmation checks (resolve.cc) look occurrences up by list and position instead of searching
// the text once per hit and list.
//
// The lookups answer exactly what the searches they replace answer ("the first term of the list,
// in list order, with an occurrence inside [lo, hi) that `accept` takes, at its leftmost such
// occurrence"), because the engine reports every occurrence of every term. Lists are identified by
// address: a FilterImpl registers its own lists once they are final (FilterImpl::Finish).
#ifndef SCRIPTQA_LIB_CONTEXT_TERMS_H_
#define SCRIPTQA_LIB_CONTEXT_TERMS_H_

#include <hs.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "dense.h"

namespace scriptqa::internal {

inline constexpr uint32_t kNoList = UINT32_MAX;

class ContextTerms {
 public:
  // Registers a list; the same list (address), or a list with the same terms in the same order,
  // shares the id of the first. Lists holding an empty term are not registered (an empty term
  // occurs everywhere: the plain search handles it).
  void Add(const std::vector<std::string>* list);
  // Builds the engine's patterns: one per distinct term, with the (list, term) entries it stands
  // for. Call once, after the last Add.
  // `dense`: the database is compiled from the dense encoding (dense.h), as the filter's literal
  // database is, so that a message encoded for one serves both.
  void Seal(bool dense);

  // The id of a registered list, kNoList otherwise.
  uint32_t ListOf(const std::vector<std::string>& terms) const {
    if (ids_.empty()) return kNoList;
    auto it = ids_.find(&terms);
    return it == ids_.end() ? kNoList : it->second;
  }
  size_t list_count() const { return lists_.size(); }
  // The longest term of all lists, in bytes.
  size_t longest() const { return longest_; }
  // The longest term of list `list`, in bytes.
  size_t max_len(uint32_t list) const { return max_len_[list]; }

  // The indexes (ascending) of the list's one-character terms. They are not in the database:
  // common cues like 不 or 吗 would be reported every few characters, while the checks look for
  // them in a few short windows; Lookup (resolve.cc) searches the text for them instead.
  const std::vector<uint32_t>& singles(uint32_t list) const { return singles_[list]; }
  // Distinct terms in engine-id order (what the database is compiled from).
  const std::vector<std::string>& patterns() const { return patterns_; }
  // Whether the database is compiled from the dense encoding (dense.h), and then the encoded
  // length of each pattern.
  bool dense() const { return dense_; }
  const std::vector<uint32_t>& dense_lengths() const { return dense_lengths_; }
  // The (list, index in list) pairs of engine id `id`.
  const std::pair<uint32_t, uint32_t>* entries_begin(uint32_t id) const {
    return entries_.data() + entry_begin_[id];
  }
  const std::pair<uint32_t, uint32_t>* entries_end(uint32_t id) const {
    return entries_.data() + entry_begin_[id + 1];
  }

 private:
  std::vector<const std::vector<std::string>*> lists_;
  std::vector<size_t> max_len_;
  size_t longest_ = 0;
  absl::flat_hash_map<std::vector<std::string>, uint32_t> by_content_;
  absl::flat_hash_map<const std::vector<std::string>*, uint32_t> ids_;
  std::vector<std::string> patterns_;
  std::vector<std::vector<uint32_t>> singles_;  // per list
  bool dense_ = false;
  std::vector<uint32_t> dense_lengths_;
  std::vector<uint32_t> entry_begin_;  // patterns_.size() + 1 offsets into entries_
  std::vector<std::pair<uint32_t, uint32_t>> entries_;
};

// The occurrences of a filter's context terms in one normalised message, grouped by list and
// sorted by position within each list, so that a lookup costs what the occurrences inside its
// window cost (a long message with many hits stays linear). Not thread-safe; one per scanner,
// reused from message to message.
class ContextHits {
 public:
  // Finds every occurrence in `norm` with `db` (compiled from terms.patterns()) lying inside one of
  // `ranges` (byte ranges of norm, sorted and disjoint: where the checks will look). On an engine
  // error the hits are cleared and the error returned: the caller then searches the text instead.
  // `whole` (may be null) is norm in the dense encoding: a dense database then reads a range
  // covering all of norm from it instead of encoding the range again.
  absl::Status Scan(const ContextTerms& terms, const hs_database_t* db, std::string_view norm,
                    const std::vector<std::pair<uint32_t, uint32_t>>& ranges,
                    hs_scratch_t* scratch, const DenseText* whole = nullptr);

  // The index (in the list) of the first term in list order with an occurrence inside [lo, hi)
  // that accept(begin, end) takes, and in *at that occurrence's begin (the leftmost one taken);
  // -1 when there is none.
  template <typename Accept>
  int64_t FirstTerm(uint32_t list, size_t lo, size_t hi, Accept&& accept, size_t* at) const {
    if (hi <= lo) return -1;
    uint32_t best = UINT32_MAX;
    size_t best_pos = 0;
    const Hit* end = End(list);
    for (const Hit* h = LowerBound(list, lo); h != end && h->b < hi; ++h) {
      // By position: the first accepted occurrence of a term is its leftmost one.
      if (h->e > hi || h->term >= best) continue;
      if (!accept(static_cast<size_t>(h->b), static_cast<size_t>(h->e))) continue;
      best = h->term;
      best_pos = h->b;
      if (best == 0) break;
    }
    if (best == UINT32_MAX) return -1;
    *at = best_pos;
    return best;
  }

  // The index of the first term in list order with an occurrence covering [nb, ne); -1 if none.
  int64_t Covering(uint32_t list, size_t nb, size_t ne) const {
    uint32_t best = UINT32_MAX;
    const size_t longest = terms_->max_len(list);
    const Hit* end = End(list);
    for (const Hit* h = LowerBound(list, ne > longest ? ne - longest : 0); h != end && h->b <= nb;
         ++h)
      if (h->e >= ne && h->term < best) best = h->term;
    return best == UINT32_MAX ? -1 : static_cast<int64_t>(best);
  }

 private:
  struct Hit {
    uint32_t term, b, e;
  };
  bool Has(uint32_t list) const { return list < stamp_.size() && stamp_[list] == generation_; }
  const Hit* End(uint32_t list) const {
    return Has(list) ? hits_.data() + end_[list] : nullptr;
  }
  // The list's first occurrence beginning at or after pos (End() when none).
  const Hit* LowerBound(uint32_t list, size_t pos) const {
    if (!Has(list)) return nullptr;
    return std::lower_bound(hits_.data() + begin_[list], hits_.data() + end_[list], pos,
                            [](const Hit& h, size_t p) { return h.b < p; });
  }
  static int OnMatch(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                     void* ctx);
  void NextGeneration();

  const ContextTerms* terms_ = nullptr;
  std::vector<std::pair<uint32_t, Hit>> found_;  // (list, occurrence) as the engine reported them
  std::vector<Hit> hits_;                        // grouped by list, sorted by (begin, term)
  // Per list: its occurrences are hits_[begin_, end_), valid when stamp_ holds the current
  // generation (so that a message does not clear every list); count_ while grouping.
  std::vector<uint32_t> begin_, end_, stamp_;
  std::vector<uint32_t> touched_;  // the lists with occurrences in this message
  uint32_t generation_ = 0;
  uint32_t base_ = 0;  // where the range being scanned begins in the message
  DenseText dense_;    // the range being scanned, encoded when the database is dense
};

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_CONTEXT_TERMS_H_
