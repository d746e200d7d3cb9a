#include "context_terms.h"

#include "absl/strings/str_cat.h"
#include "dense.h"
#include "filter_impl.h"
#include "utf8.h"

namespace scriptqa::internal {

void ContextTerms::Add(const std::vector<std::string>* list) {
  if (list->empty() || ids_.contains(list)) return;
  for (const std::string& t : *list)
    if (t.empty()) return;
  auto [it, fresh] = by_content_.try_emplace(*list, static_cast<uint32_t>(lists_.size()));
  ids_.emplace(list, it->second);
  if (!fresh) return;
  lists_.push_back(list);
  size_t longest = 0;
  for (const std::string& t : *list) longest = std::max(longest, t.size());
  max_len_.push_back(longest);
  longest_ = std::max(longest_, longest);
}

void ContextTerms::Seal(bool dense) {
  patterns_.clear();
  entries_.clear();
  entry_begin_.clear();
  singles_.assign(lists_.size(), {});
  absl::flat_hash_map<std::string_view, uint32_t> id_of;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> by_id;
  for (uint32_t l = 0; l < lists_.size(); ++l) {
    const std::vector<std::string>& list = *lists_[l];
    for (uint32_t t = 0; t < list.size(); ++t) {
      if (CountChars(list[t]) == 1) {
        singles_[l].push_back(t);
        continue;
      }
      auto [it, fresh] = id_of.try_emplace(list[t], static_cast<uint32_t>(patterns_.size()));
      if (fresh) {
        patterns_.push_back(list[t]);
        by_id.emplace_back();
      }
      by_id[it->second].push_back({l, t});
    }
  }
  entry_begin_.reserve(by_id.size() + 1);
  for (const auto& e : by_id) {
    entry_begin_.push_back(static_cast<uint32_t>(entries_.size()));
    entries_.insert(entries_.end(), e.begin(), e.end());
  }
  entry_begin_.push_back(static_cast<uint32_t>(entries_.size()));
  dense_ = dense;
  dense_lengths_ = dense_ ? DenseLengths(patterns_) : std::vector<uint32_t>();
}

void ContextHits::NextGeneration() {
  if (++generation_ == 0) {  // wrapped: forget every stamp
    std::fill(stamp_.begin(), stamp_.end(), 0);
    generation_ = 1;
  }
}

int ContextHits::OnMatch(unsigned id, unsigned long long, unsigned long long to, unsigned,
                         void* ctx) {
  auto* self = static_cast<ContextHits*>(ctx);
  const ContextTerms& terms = *self->terms_;
  const uint32_t e = self->base_ + static_cast<uint32_t>(to);
  const uint32_t b = e - static_cast<uint32_t>(terms.patterns()[id].size());
  for (auto* p = terms.entries_begin(id); p != terms.entries_end(id); ++p) {
    const uint32_t list = p->first;
    if (self->stamp_[list] != self->generation_) {
      self->stamp_[list] = self->generation_;
      self->end_[list] = 0;  // the count, until Scan groups the occurrences
      self->touched_.push_back(list);
    }
    ++self->end_[list];
    self->found_.push_back({list, {p->second, b, e}});
  }
  return 0;
}

absl::Status ContextHits::Scan(const ContextTerms& terms, const hs_database_t* db,
                               std::string_view norm,
                               const std::vector<std::pair<uint32_t, uint32_t>>& ranges,
                               hs_scratch_t* scratch, const DenseText* whole) {
  found_.clear();
  touched_.clear();
  if (found_.capacity() > (1u << 20)) {  // after a very long message: give the memory back
    std::vector<std::pair<uint32_t, Hit>>().swap(found_);
    std::vector<Hit>().swap(hits_);
  }
  dense_.Trim(1u << 20);
  terms_ = &terms;
  if (stamp_.size() != terms.list_count()) {
    begin_.assign(terms.list_count(), 0);
    end_.assign(terms.list_count(), 0);
    stamp_.assign(terms.list_count(), 0);
    generation_ = 0;
  }
  NextGeneration();
  if (!db || norm.empty()) return absl::OkStatus();
  for (const auto& [lo, hi] : ranges) {
    if (hi <= lo || hi > norm.size()) continue;
    base_ = lo;
    const LiteralDb literal_db{db, terms.dense(), &terms.dense_lengths()};
    hs_error_t rc =
        whole && terms.dense() && lo == 0 && hi == norm.size() && whole->back(whole->size()) == hi
            ? ScanEncoded(literal_db, *whole, scratch, &ContextHits::OnMatch, this)
            : ScanLiterals(literal_db, norm.substr(lo, hi - lo), &dense_, scratch,
                           &ContextHits::OnMatch, this);
    if (rc != HS_SUCCESS) {
      NextGeneration();  // no list has occurrences
      return absl::InternalError(absl::StrCat("context scan failed: ", HsErrorName(rc)));
    }
  }
  // Group by list (counts are in end_), then sort each group by position: the engine reports
  // in about that order already, so the check is usually all the sorting there is.
  uint32_t offset = 0;
  for (uint32_t list : touched_) {
    begin_[list] = offset;
    offset += end_[list];
    end_[list] = begin_[list];
  }
  hits_.resize(found_.size());
  for (const auto& [list, hit] : found_) hits_[end_[list]++] = hit;
  auto before = [](const Hit& x, const Hit& y) { return x.b != y.b ? x.b < y.b : x.term < y.term; };
  for (uint32_t list : touched_) {
    Hit* first = hits_.data() + begin_[list];
    Hit* last = hits_.data() + end_[list];
    if (!std::is_sorted(first, last, before)) std::sort(first, last, before);
  }
  return absl::OkStatus();
}

}  // namespace scriptqa::internal
