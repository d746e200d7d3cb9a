// Conversation QA (scriptqa/conversation.h): reading messages for their cues, scoring a
// conversation against the scorecard, and the grouping loop the front ends share.
#include "scriptqa/conversation.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "json_writer.h"
#include "scorecard_impl.h"
#include "scriptqa/mask.h"
#include "scriptqa/scanner.h"

namespace scriptqa {

namespace {

// Bytes of the first `chars` code points of `s` (lead bytes decide the length; a truncated
// sequence at the end is cut off).
size_t PrefixBytes(std::string_view s, size_t chars) {
  size_t i = 0;
  while (i < s.size() && chars > 0) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c >= 0x80 && c < 0xC0) n = 1;  // a stray continuation byte counts one
    if (i + n > s.size()) break;
    i += n;
    --chars;
  }
  return i;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The longest run of '!' or '！' (EF BC 81), blanks between them allowed.
uint32_t ExclamationRun(std::string_view s) {
  // Most messages have none: look for either before walking the bytes.
  if (s.find('!') == std::string_view::npos && s.find("\xEF\xBC\x81") == std::string_view::npos) return 0;
  uint32_t best = 0, run = 0;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '!') {
      ++run, ++i;
    } else if (s[i] == '\xEF' && i + 2 < s.size() && s[i + 1] == '\xBC' && s[i + 2] == '\x81') {
      ++run, i += 3;
    } else if (s[i] == ' ') {
      ++i;
    } else {
      best = std::max(best, run);
      run = 0;
      ++i;
    }
  }
  return std::max(best, run);
}

// The clause of `text` around bytes [b, e): from the punctuation mark before to the one after,
// at most 40 characters on each side of the span.
std::string_view ClauseAround(std::string_view text, size_t b, size_t e) {
  static constexpr std::string_view kMarks[] = {"，", "。", "！", "？", "；", "～", "…", ",", ".", "!", "?", ";", "~", "\n", " "};
  auto is_mark = [&](size_t i, size_t* len) {
    for (std::string_view m : kMarks)
      if (text.compare(i, m.size(), m) == 0) return *len = m.size(), true;
    return false;
  };
  size_t from = b, chars = 0, len = 0;
  while (from > 0 && chars < 40) {
    size_t p = from - 1;
    while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
    if (is_mark(p, &len)) break;
    from = p;
    ++chars;
  }
  size_t to = e;
  chars = 0;
  while (to < text.size() && chars < 40) {
    if (is_mark(to, &len)) break;
    unsigned char c = static_cast<unsigned char>(text[to]);
    to += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++chars;
  }
  return text.substr(from, std::min(to, text.size()) - from);
}

// Characters that carry content: not blanks, ASCII punctuation, CJK or full-width punctuation.
size_t ContentChars(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (c < 0x80) {
      n += (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
    } else if (len == 3 && i + 3 <= s.size()) {
      uint32_t cp = (c & 0x0F) << 12 | (static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6 |
                    (static_cast<unsigned char>(s[i + 2]) & 0x3F);
      bool punct = (cp >= 0x3000 && cp <= 0x303F) || (cp >= 0xFF00 && cp <= 0xFF0F) ||
                   (cp >= 0xFF1A && cp <= 0xFF20) || (cp >= 0x2000 && cp <= 0x206F) ||
                   (cp >= 0xFE30 && cp <= 0xFE4F) || cp == 0xFF5E;
      n += !punct;
    } else if (len == 2) {
      ++n;
    }  // four-byte sequences (emoji) carry no content here
    i += len;
  }
  return n;
}

// Whether a message ends on a question (a final ? or ？, or 吗 / 呢 / 么 before trailing
// punctuation): an agent asking the customer something back.
bool EndsWithQuestion(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t p = end - 1;
    while (p > 0 && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
    std::string_view ch = s.substr(p, end - p);
    if (ch == "?" || ch == "\xEF\xBC\x9F") return true;
    if (ch == "\xE5\x90\x97" || ch == "\xE5\x91\xA2" || ch == "\xE4\xB9\x88") return true;  // 吗 呢 么
    if (ContentChars(ch) > 0) return false;
    end = p;
  }
  return false;
}

// Whether ContentChars(s) > 0, stopping at the first such character.
bool HasContent(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (ContentChars(s.substr(i, len)) > 0) return true;
    i += len;
  }
  return false;
}

bool HasQuestionMark(std::string_view s) {
  return s.find('?') != std::string_view::npos || s.find("\xEF\xBC\x9F") != std::string_view::npos;
}

// Sorted, distinct hashes of the character pairs of a normalised text (at most 64 pairs: the
// start of a long message says what it asks).
std::vector<uint32_t> Bigrams(std::string_view norm) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < norm.size() && cps.size() < 65;) {
    unsigned char c = static_cast<unsigned char>(norm[i]);
    size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    uint32_t cp = 0;
    for (size_t k = 0; k < n && i + k < norm.size(); ++k) cp = cp << 8 | static_cast<unsigned char>(norm[i + k]);
    cps.push_back(cp);
    i += n;
  }
  std::vector<uint32_t> out;
  for (size_t i = 0; i + 1 < cps.size(); ++i) {
    uint64_t x = (uint64_t{cps[i]} << 32 | cps[i + 1]) * 0x9E3779B97F4A7C15ULL;
    out.push_back(static_cast<uint32_t>(x >> 32));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double Jaccard(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  if (a.empty() || b.empty()) return 0;
  size_t i = 0, j = 0, both = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] < b[j]) ++i;
    else if (b[j] < a[i]) ++j;
    else ++both, ++i, ++j;
  }
  return static_cast<double>(both) / static_cast<double>(a.size() + b.size() - both);
}

std::string Seconds(int64_t ms) {
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, " s");
  return absl::StrFormat("%.1f s", ms / 1000.0);
}


// Debian's Abseil has its own string_view type.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

// ---------------------------------------------------------------- TurnAnalyzer

class TurnAnalyzerImpl {
 public:
  TurnAnalyzerImpl(std::shared_ptr<const Scorecard> card, std::optional<Scanner> scanner,
                   TurnOptions options)
      : card_(std::move(card)), scanner_(std::move(scanner)), options_(options) {
    const ScorecardSettings& s = card_->settings();
    signatures_ = s[Check::kRepeatQuestion].enabled ||
                  (s[Check::kUpset].enabled && s[Check::kUpset].repeat_is_upset);
    min_chars_ = s[Check::kRepeatQuestion].enabled ? s[Check::kRepeatQuestion].min_chars : 5;
  }

  absl::Status AnalyzeBatch(absl::Span<const Message> messages, absl::Span<Turn> turns) {
    if (turns.size() != messages.size())
      return absl::InvalidArgumentError("AnalyzeBatch: turns and messages differ in length");
    texts_.clear();
    at_.clear();
    ack_chars_.clear();
    for (size_t i = 0; i < messages.size(); ++i) {
      const Message& m = messages[i];
      Turn& t = turns[i];
      t = Turn();
      t.role = m.role;
      t.time_ms = m.time_ms;
      t.number = m.number;
      t.agent.assign(m.agent.data(), m.agent.size());
      t.shop.assign(m.shop.data(), m.shop.size());
      if (m.role == Role::kOther) continue;
      texts_.push_back(m.text);
      at_.push_back(i);
    }
    ack_chars_.assign(texts_.size(), 0);
    if (!scanner_) return Finish(messages, turns);
    const ScorecardImpl& card = card_->impl();
    const std::vector<uint8_t>& rule_cue = card.rule_cue;
    absl::Status st;
    // Agent and customer messages in two batches, each read only for its side's cues.
    for (bool agent : {true, false}) {
      const std::shared_ptr<const Profile>& profile = agent ? card.agent_cues : card.customer_cues;
      if (!profile) continue;
      side_texts_.clear();
      side_k_.clear();
      for (size_t k = 0; k < texts_.size(); ++k) {
        if ((turns[at_[k]].role == Role::kAgent) != agent) continue;
        side_texts_.push_back(texts_[k]);
        side_k_.push_back(k);
      }
      if (side_texts_.empty()) continue;
      ScanOptions options;
      options.profile = profile.get();
      st = scanner_->ScanBatch(
          side_texts_, options, [&](size_t j, const absl::Status&, absl::Span<const Finding> found) {
            const size_t k = side_k_[j];
            Turn& t = turns[at_[k]];
            for (const Finding& f : found) {
              uint8_t cue = f.rule->index < rule_cue.size() ? rule_cue[f.rule->index] : ScorecardImpl::kNoCue;
              if (cue == ScorecardImpl::kNoCue) continue;
              t.cues |= uint32_t{1} << cue;
              if (cue == static_cast<uint8_t>(Cue::kAcknowledgement)) ack_chars_[k] += f.chars.size();
              if (cue == static_cast<uint8_t>(Cue::kPromise) && t.promise.empty()) {
                std::string_view clause = ClauseAround(texts_[k], f.bytes.begin, f.bytes.end);
                t.promise.assign(clause.data(), clause.size());
              }
              if (cue == static_cast<uint8_t>(Cue::kUpset) && t.upset.empty())
                t.upset.assign(f.text.data(), f.text.size());
            }
          });
      if (!st.ok()) return st;
    }
    return Finish(messages, turns);
  }

 private:
  absl::Status Finish(absl::Span<const Message> messages, absl::Span<Turn> turns) {
    for (size_t k = 0; k < at_.size(); ++k) {
      const size_t i = at_[k];
      const Message& m = messages[i];
      Turn& t = turns[i];
      if (HasQuestionMark(m.text)) t.cues |= CueBit(Cue::kQuestion);
      t.exclamation_run = ExclamationRun(m.text);
      if (m.role == Role::kAgent) {
        t.asks_back = EndsWithQuestion(m.text) || (t.cues & CueBit(Cue::kAskBack));
        for (const Finding& f : m.findings) {
          ++t.severity_counts[static_cast<size_t>(f.severity)];
          t.findings.push_back(absl::StrCat(f.rule->id, ":", AV(SeverityName(f.severity))));
        }
        if (options_.mask && !t.promise.empty()) MaskPersonalDataInPlace(&t.promise);
      } else {
        // A message needs an answer unless it asks nothing and acknowledgements (好的, 谢谢,
        // 知道了) are most of it: 收到货了，质量不错 does, 好的谢谢 does not.
        const bool question = t.cues & CueBit(Cue::kQuestion);
        t.needs_answer = question || (ack_chars_[k] == 0 ? HasContent(m.text) : ack_chars_[k] * 2 < ContentChars(m.text));
        if (!t.upset.empty()) MaskPersonalDataInPlace(&t.upset);  // customer words: always
        if (signatures_ && question) {
          std::string norm = card_->cues()->Normalize(m.text);
          if (CodePoints(norm) >= static_cast<size_t>(min_chars_)) t.question = Bigrams(norm);
        }
      }
      if (options_.keep_text) t.text.assign(m.text.data(), PrefixBytes(m.text, kExcerptChars));
    }
    return absl::OkStatus();
  }

  std::shared_ptr<const Scorecard> card_;
  std::optional<Scanner> scanner_;  // none when the scorecard reads no cues
  TurnOptions options_;
  bool signatures_ = false;
  int min_chars_ = 5;
  std::vector<std::string_view> texts_;
  std::vector<size_t> at_;
  std::vector<size_t> ack_chars_;  // characters of acknowledgement cues, per text
  std::vector<std::string_view> side_texts_;  // the agent's (customer's) among texts_
  std::vector<size_t> side_k_;                // their indices in texts_
};

absl::StatusOr<TurnAnalyzer> TurnAnalyzer::Create(std::shared_ptr<const Scorecard> scorecard,
                                                  TurnOptions options) {
  if (!scorecard) return absl::InvalidArgumentError("TurnAnalyzer: no scorecard");
  std::optional<Scanner> scanner;
  if (scorecard->cues()) {  // a scorecard whose checks read no cues has none
    absl::StatusOr<Scanner> s = Scanner::Create(scorecard->cues());
    if (!s.ok()) return s.status();
    scanner.emplace(*std::move(s));
  }
  return TurnAnalyzer(std::make_unique<TurnAnalyzerImpl>(std::move(scorecard), std::move(scanner), options));
}

TurnAnalyzer::TurnAnalyzer(std::unique_ptr<TurnAnalyzerImpl> impl) : impl_(std::move(impl)) {}
TurnAnalyzer::TurnAnalyzer(TurnAnalyzer&&) noexcept = default;
TurnAnalyzer& TurnAnalyzer::operator=(TurnAnalyzer&&) noexcept = default;
TurnAnalyzer::~TurnAnalyzer() = default;

absl::Status TurnAnalyzer::Analyze(const Message& message, Turn* turn) {
  return impl_->AnalyzeBatch(absl::MakeConstSpan(&message, 1), absl::MakeSpan(turn, 1));
}

absl::Status TurnAnalyzer::AnalyzeBatch(absl::Span<const Message> messages, absl::Span<Turn> turns) {
  return impl_->AnalyzeBatch(messages, turns);
}

// ---------------------------------------------------------------- Conversation

namespace {

// One turn as a conversation keeps it: the figures inline, the strings in the conversation's
// arena (a conversation may stay open for a while; thousands are open at once).
struct Rec {
  int64_t time = kNoTime;
  int64_t number = kNoTurnNumber;
  uint32_t cues = 0;
  uint32_t exclamation = 0;
  std::array<uint32_t, 3> sev{};
  Role role = Role::kOther;
  bool needs_answer = false;
  bool asks_back = false;
  uint16_t agent = 0;  // index into agents_ + 1; 0: none
  uint32_t text_off = 0, text_len = 0;
  uint32_t promise_off = 0, promise_len = 0;
  uint32_t upset_off = 0, upset_len = 0;
  uint32_t findings_off = 0, findings_len = 0;  // "rule:severity\n"…
  uint32_t question_off = 0, question_len = 0;  // into questions_
};

constexpr uint16_t kMaxAgents = 0xFFFE;

}  // namespace

class ConversationImpl {
 public:
  ConversationImpl(std::shared_ptr<const Scorecard> card, std::string id)
      : card_(std::move(card)), id_(std::move(id)) {}

  void Add(Turn&& t) {
    if (t.role == Role::kOther) return;
    Rec r;
    r.time = t.time_ms;
    r.number = t.number;
    r.cues = t.cues;
    r.exclamation = t.exclamation_run;
    r.sev = t.severity_counts;
    r.role = t.role;
    r.needs_answer = t.needs_answer;
    r.asks_back = t.asks_back;
    if (!t.agent.empty() && t.role == Role::kAgent) r.agent = AgentIndex(t.agent);
    if (shop_.empty() && !t.shop.empty()) shop_ = t.shop;
    Keep(t.text, &r.text_off, &r.text_len);
    Keep(t.promise, &r.promise_off, &r.promise_len);
    Keep(t.upset, &r.upset_off, &r.upset_len);
    if (!t.findings.empty()) {
      r.findings_off = static_cast<uint32_t>(arena_.size());
      for (const std::string& f : t.findings) absl::StrAppend(&arena_, f, "\n");
      r.findings_len = static_cast<uint32_t>(arena_.size() - r.findings_off);
    }
    r.question_off = static_cast<uint32_t>(questions_.size());
    questions_.insert(questions_.end(), t.question.begin(), t.question.end());
    r.question_len = static_cast<uint32_t>(t.question.size());
    recs_.push_back(r);
  }

  size_t size() const { return recs_.size(); }
  const std::string& id() const { return id_; }

  // The turns in conversation order, and the turn number each is named by.
  void Order(std::vector<uint32_t>* order, std::vector<int64_t>* label) const {
    const size_t n = recs_.size();
    order->resize(n);
    std::iota(order->begin(), order->end(), 0u);
    bool numbered = n > 0, timed = false;
    for (const Rec& r : recs_) {
      numbered = numbered && r.number != kNoTurnNumber;
      timed = timed || r.time != kNoTime;
    }
    if (numbered) {
      std::stable_sort(order->begin(), order->end(),
                       [&](uint32_t a, uint32_t b) { return recs_[a].number < recs_[b].number; });
    } else if (timed) {
      // An untimed turn stays after the turn before it (in input order).
      std::vector<int64_t> eff(n);
      int64_t prev = kNoTime;
      for (size_t i = 0; i < n; ++i) eff[i] = prev = recs_[i].time != kNoTime ? recs_[i].time : prev;
      std::stable_sort(order->begin(), order->end(), [&](uint32_t a, uint32_t b) { return eff[a] < eff[b]; });
    }
    label->resize(n);
    for (size_t p = 0; p < n; ++p)
      (*label)[p] = numbered ? recs_[(*order)[p]].number : static_cast<int64_t>(p);
  }

  ConversationResult Score(absl::TimeZone zone) const;
  std::vector<ExcerptLine> Excerpt(const ConversationResult& result) const;

 private:
  uint16_t AgentIndex(const std::string& agent) {
    for (size_t i = 0; i < agents_.size(); ++i)
      if (agents_[i] == agent) return static_cast<uint16_t>(i + 1);
    if (agents_.size() >= kMaxAgents) return 0;
    agents_.push_back(agent);
    return static_cast<uint16_t>(agents_.size());
  }
  void Keep(const std::string& s, uint32_t* off, uint32_t* len) {
    *off = static_cast<uint32_t>(arena_.size());
    *len = static_cast<uint32_t>(s.size());
    arena_ += s;
  }
  std::string_view View(uint32_t off, uint32_t len) const {
    return std::string_view(arena_.data() + off, len);
  }
  std::vector<uint32_t> Question(const Rec& r) const {
    return std::vector<uint32_t>(questions_.begin() + r.question_off,
                                 questions_.begin() + r.question_off + r.question_len);
  }

  std::shared_ptr<const Scorecard> card_;
  std::string id_;
  std::vector<Rec> recs_;
  std::string arena_;
  std::vector<uint32_t> questions_;
  std::vector<std::string> agents_;
  std::string shop_;
};

namespace {

// Deductions of one check, with its cap.
class Deductor {
 public:
  Deductor(ConversationResult* r, Check check, const CheckSettings& s)
      : r_(r), check_(check), cap_(s.max_points) {}
  void Take(int64_t turn, int points, std::string detail) {
    int given = points;
    if (cap_ > 0) {
      given = std::min(points, std::max(0, cap_ - taken_));
      if (given < points) absl::StrAppend(&detail, " (cap of ", cap_, " points reached)");
    }
    taken_ += given;
    r_->deductions.push_back(Deduction{check_, turn, given, std::move(detail)});
    failed_ = true;
  }
  bool failed() const { return failed_; }

 private:
  ConversationResult* r_;
  Check check_;
  int cap_;
  int taken_ = 0;
  bool failed_ = false;
};

}  // namespace

ConversationResult ConversationImpl::Score(absl::TimeZone zone) const {
  const ScorecardSettings& s = card_->settings();
  ConversationResult r;
  r.conversation_id = id_;
  r.shop_id = shop_;
  std::vector<uint32_t> order;
  std::vector<int64_t> label;
  Order(&order, &label);
  const size_t n = order.size();
  auto rec = [&](size_t p) -> const Rec& { return recs_[order[p]]; };

  // Who, when.
  std::vector<uint32_t> agent_count(agents_.size() + 1, 0);
  std::vector<size_t> agent_first(agents_.size() + 1, n);
  for (size_t p = 0; p < n; ++p) {
    const Rec& x = rec(p);
    if (x.role == Role::kAgent) {
      ++r.agent_turns;
      ++agent_count[x.agent];
      agent_first[x.agent] = std::min(agent_first[x.agent], p);
    } else {
      ++r.customer_turns;
    }
    if (x.time != kNoTime && (r.start_ms == kNoTime || x.time < r.start_ms)) r.start_ms = x.time;
    for (size_t k = 0; k < 3; ++k) r.findings[k] += x.sev[k];
  }
  r.turns = r.agent_turns + r.customer_turns;
  size_t best = 0;
  for (size_t a = 1; a < agent_count.size(); ++a)
    if (agent_count[a] > 0 && (best == 0 || agent_count[a] > agent_count[best] ||
                               (agent_count[a] == agent_count[best] && agent_first[a] < agent_first[best])))
      best = a;
  if (best > 0) r.agent_id = agents_[best - 1];
  absl::CivilDay day;
  if (r.start_ms != kNoTime) {
    day = absl::ToCivilDay(absl::FromUnixMillis(r.start_ms), zone);
    r.day = absl::FormatCivilTime(day);
  }
  r.promotion = s.promotion;
  if (!r.day.empty())
    for (const DayRange& d : s.promotion_days) r.promotion = r.promotion || (day >= d.first && day <= d.last);
  const CheckSettings& reply = s[Check::kReplyTime];
  r.reply_limit_ms = reply.enabled ? (r.promotion ? reply.promo_limit_ms : reply.limit_ms) : 0;

  // Waits: from the first message of a run of customer messages to the next agent message.
  struct Wait {
    size_t from, to;  // positions
    int64_t ms;       // kNoTime: untimed
    bool first;
  };
  std::vector<Wait> waits;
  bool waiting = false, responded = false;
  size_t run_start = 0;
  std::vector<size_t> agent_pos, customer_pos;
  for (size_t p = 0; p < n; ++p) {
    const Rec& x = rec(p);
    if (x.role == Role::kCustomer) {
      customer_pos.push_back(p);
      // A wait starts with a message that needs an answer (好的 or 谢谢 alone does not).
      if (!waiting && x.needs_answer) {
        waiting = true;
        run_start = p;
      }
      continue;
    }
    agent_pos.push_back(p);
    if (!waiting) continue;
    int64_t t0 = rec(run_start).time, t1 = x.time;
    int64_t ms = t0 != kNoTime && t1 != kNoTime && t1 >= t0 ? t1 - t0 : kNoTime;
    waits.push_back(Wait{run_start, p, ms, !responded});
    responded = true;
    waiting = false;
  }
  for (const Wait& w : waits) {
    if (w.ms == kNoTime) {
      ++r.untimed_replies;
      continue;
    }
    if (w.first) r.first_response_ms = w.ms;
    else r.reply_ms.push_back(w.ms);
    if (r.longest_wait_ms == kNoTime || w.ms > r.longest_wait_ms) r.longest_wait_ms = w.ms;
  }

  auto set = [&](Check c, Outcome o) { r.outcomes[static_cast<size_t>(c)] = o; };
  for (size_t i = 0; i < kCheckCount; ++i)
    r.outcomes[i] = s.checks[i].enabled ? Outcome::kNotApplicable : Outcome::kOff;

  // first_response
  if (const CheckSettings& c = s[Check::kFirstResponse]; c.enabled) {
    for (const Wait& w : waits) {
      if (!w.first || w.ms == kNoTime) continue;
      Deductor d(&r, Check::kFirstResponse, c);
      if (w.ms > c.limit_ms)
        d.Take(label[w.to], c.points,
               absl::StrCat("first response after ", Seconds(w.ms), " (limit ", Seconds(c.limit_ms), ")"));
      set(Check::kFirstResponse, d.failed() ? Outcome::kFail : Outcome::kPass);
    }
  }
  // reply_time
  for (const Wait& w : waits)
    if (!w.first && w.ms != kNoTime && w.ms <= r.reply_limit_ms) ++r.replies_within;
  if (reply.enabled && !r.reply_ms.empty()) {
    Deductor d(&r, Check::kReplyTime, reply);
    for (const Wait& w : waits)
      if (!w.first && w.ms != kNoTime && w.ms > r.reply_limit_ms)
        d.Take(label[w.to], reply.points,
               absl::StrCat("reply after ", Seconds(w.ms), " (limit ", Seconds(r.reply_limit_ms),
                            r.promotion ? ", promotion period" : "", ")"));
    set(Check::kReplyTime, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // longest_wait
  if (const CheckSettings& c = s[Check::kLongestWait]; c.enabled && r.longest_wait_ms != kNoTime) {
    Deductor d(&r, Check::kLongestWait, c);
    if (r.longest_wait_ms > c.limit_ms)
      for (const Wait& w : waits)
        if (w.ms == r.longest_wait_ms) {
          d.Take(label[w.to], c.points,
                 absl::StrCat("the customer waited ", Seconds(w.ms), " (limit ", Seconds(c.limit_ms), ")"));
          break;
        }
    set(Check::kLongestWait, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // greeting
  if (const CheckSettings& c = s[Check::kGreeting]; c.enabled && !agent_pos.empty()) {
    Deductor d(&r, Check::kGreeting, c);
    const Rec& x = rec(agent_pos[0]);
    bool hello = x.cues & CueBit(Cue::kHello), who = x.cues & CueBit(Cue::kIdentity);
    if (!hello || !who)
      d.Take(label[agent_pos[0]], c.points,
             !hello && !who ? "first agent message without a greeting or a self-introduction"
             : !hello       ? "first agent message without a greeting word"
                            : "first agent message without a self-introduction");
    set(Check::kGreeting, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // closing
  if (const CheckSettings& c = s[Check::kClosing]; c.enabled && !agent_pos.empty()) {
    Deductor d(&r, Check::kClosing, c);
    bool found = false;
    for (size_t k = 0; k < agent_pos.size() && k < static_cast<size_t>(c.within); ++k)
      found = found || (rec(agent_pos[agent_pos.size() - 1 - k]).cues & CueBit(Cue::kClosing));
    if (!found)
      d.Take(label[agent_pos.back()], c.points,
             c.within == 1 ? std::string("no closing in the last agent message")
                           : absl::StrCat("no closing in the last ", c.within, " agent messages"));
    set(Check::kClosing, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // unanswered
  if (const CheckSettings& c = s[Check::kUnanswered]; c.enabled && !customer_pos.empty()) {
    Deductor d(&r, Check::kUnanswered, c);
    if (waiting) {
      for (size_t p = run_start; p < n; ++p) {
        if (!rec(p).needs_answer) continue;
        d.Take(label[p], c.points,
               p + 1 == n ? "the customer's last message has no reply"
                          : absl::StrCat("the customer's last ", n - run_start, " messages have no reply"));
        break;
      }
    }
    set(Check::kUnanswered, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // Questions asked again: the later one of a pair of similar customer questions.
  const CheckSettings& rq = s[Check::kRepeatQuestion];
  const CheckSettings& up = s[Check::kUpset];
  std::vector<int> repeats(n, -1);  // position of the earlier question
  // Between the two: an agent message that answers (not only asks back), or any agent message.
  std::vector<bool> answered_between(n, false), agent_between(n, false);
  if (rq.enabled || (up.enabled && up.repeat_is_upset)) {
    const double threshold = rq.enabled ? rq.similarity : 0.6;
    std::vector<std::vector<uint32_t>> sig(n);
    for (size_t j = 0; j < n; ++j) {
      if (rec(j).role != Role::kCustomer || rec(j).question_len == 0) continue;
      sig[j] = Question(rec(j));
      for (size_t i = j; i-- > 0;) {
        if (sig[i].empty() || Jaccard(sig[i], sig[j]) < threshold) continue;
        repeats[j] = static_cast<int>(i);
        for (size_t k = i + 1; k < j; ++k) {
          if (rec(k).role != Role::kAgent) continue;
          agent_between[j] = true;
          // The conversation's opener (an identity greeting as the first agent message) answers
          // nothing either.
          const uint32_t greeting = CueBit(Cue::kHello) | CueBit(Cue::kIdentity);
          bool opener = k == agent_pos.front() && (rec(k).cues & greeting) == greeting;
          answered_between[j] = answered_between[j] || (!rec(k).asks_back && !opener);
        }
        break;
      }
    }
  }
  if (rq.enabled) {
    Deductor d(&r, Check::kRepeatQuestion, rq);
    bool any = false;
    for (size_t j = 0; j < n; ++j) {
      if (rec(j).role != Role::kCustomer || rec(j).question_len == 0) continue;
      any = true;
      if (repeats[j] >= 0 && answered_between[j])
        d.Take(label[j], rq.points,
               absl::StrCat("the customer asks again what turn ", label[repeats[j]], " asked, after an answer"));
    }
    if (any) set(Check::kRepeatQuestion, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // upset
  if (up.enabled) {
    Deductor d(&r, Check::kUpset, up);
    bool any = false;
    struct Episode {
      bool open = false;
      size_t at = 0;
      std::string why;
      int agents = 0;
      bool apology = false, step = false, hollow = false;
    } e;
    auto fail = [&](bool ended) {
      std::string missing = e.apology ? "no concrete next step with a time"
                            : e.step  ? "no apology"
                                      : "no apology and no concrete next step with a time";
      std::string hollow = e.hollow && !e.step ? " (only hollow empathy)" : "";
      std::string where = ended ? absl::StrCat(" before the conversation ends (", e.agents, " agent message",
                                               e.agents == 1 ? "" : "s", ")")
                                : absl::StrCat(" in the next ", up.within, " agent message", up.within == 1 ? "" : "s");
      d.Take(label[e.at], up.points, absl::StrCat("customer upset (", e.why, "): ", missing, hollow, where));
      e.open = false;
    };
    for (size_t p = 0; p < n; ++p) {
      const Rec& x = rec(p);
      if (x.role == Role::kCustomer) {
        std::string why;
        if (x.cues & CueBit(Cue::kUpset)) why = std::string(View(x.upset_off, x.upset_len));
        else if (up.exclamation_run > 0 && x.exclamation >= static_cast<uint32_t>(up.exclamation_run) &&
                 !(x.cues & CueBit(Cue::kAcknowledgement)))
          why = absl::StrCat(x.exclamation, " exclamation marks");
        else if (up.repeat_is_upset && repeats[p] >= 0 && !agent_between[p])
          why = absl::StrCat("asks again what turn ", label[repeats[p]], " asked, still unanswered");
        if (why.empty()) continue;
        any = true;
        if (!e.open) e = Episode{true, p, why, 0, false, false, false};
        continue;
      }
      if (!e.open) continue;
      ++e.agents;
      e.apology = e.apology || (x.cues & CueBit(Cue::kApology));
      e.step = e.step || (x.cues & (CueBit(Cue::kNextStep) | CueBit(Cue::kPromise)));
      e.hollow = e.hollow || (x.cues & CueBit(Cue::kHollowEmpathy));
      if (e.apology && e.step) e.open = false;
      else if (e.agents >= up.within) fail(false);
    }
    if (e.open) fail(true);
    if (any) set(Check::kUpset, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // findings
  if (const CheckSettings& c = s[Check::kFindings]; c.enabled && !agent_pos.empty()) {
    Deductor d(&r, Check::kFindings, c);
    for (size_t p : agent_pos) {
      const Rec& x = rec(p);
      std::string_view list = View(x.findings_off, x.findings_len);
      while (!list.empty()) {
        size_t nl = list.find('\n');
        std::string_view item = list.substr(0, nl);
        list.remove_prefix(nl + 1);
        size_t colon = item.rfind(':');
        Severity sev = Severity::kAdvice;
        ParseSeverity(item.substr(colon + 1), &sev);
        int points = c.severity_points[static_cast<size_t>(sev)];
        if (points > 0)
          d.Take(label[p], points, absl::StrCat(AV(SeverityName(sev)), " finding ", AV(item.substr(0, colon))));
      }
    }
    set(Check::kFindings, d.failed() ? Outcome::kFail : Outcome::kPass);
  }
  // Deductions in check order, then turn order (they were taken check by check, in order).
  std::stable_sort(r.deductions.begin(), r.deductions.end(),
                   [](const Deduction& a, const Deduction& b) { return a.check < b.check; });
  int total = 0;
  for (const Deduction& d : r.deductions) total += d.points;
  r.score = std::max(0, 100 - total);
  for (size_t p : agent_pos) {
    const Rec& x = rec(p);
    if (x.promise_len > 0) r.promises.push_back(Promise{label[p], std::string(View(x.promise_off, x.promise_len))});
  }
  return r;
}

std::vector<ExcerptLine> ConversationImpl::Excerpt(const ConversationResult& result) const {
  std::vector<uint32_t> order;
  std::vector<int64_t> label;
  Order(&order, &label);
  size_t center = 0;
  const Deduction* worst = nullptr;
  for (const Deduction& d : result.deductions)
    if (worst == nullptr || d.points > worst->points) worst = &d;
  if (worst != nullptr)
    for (size_t p = 0; p < label.size(); ++p)
      if (label[p] == worst->turn) {
        center = p;
        break;
      }
  size_t from = center >= 2 ? center - 2 : 0;
  size_t to = std::min(order.size(), from + 6);
  std::vector<ExcerptLine> out;
  for (size_t p = from; p < to; ++p) {
    const Rec& x = recs_[order[p]];
    out.push_back(ExcerptLine{label[p], x.role, std::string(View(x.text_off, x.text_len))});
  }
  return out;
}

Conversation::Conversation(std::shared_ptr<const Scorecard> scorecard, std::string id)
    : impl_(std::make_unique<ConversationImpl>(std::move(scorecard), std::move(id))) {}
Conversation::Conversation(Conversation&&) noexcept = default;
Conversation& Conversation::operator=(Conversation&&) noexcept = default;
Conversation::~Conversation() = default;
void Conversation::Add(Turn turn) { impl_->Add(std::move(turn)); }
size_t Conversation::size() const { return impl_->size(); }
const std::string& Conversation::id() const { return impl_->id(); }
ConversationResult Conversation::Score(absl::TimeZone zone) const { return impl_->Score(zone); }
std::vector<ExcerptLine> Conversation::Excerpt(const ConversationResult& result) const {
  return impl_->Excerpt(result);
}

// ---------------------------------------------------------------- the row

std::string ConversationResult::ToJson() const {
  std::string out;
  out.reserve(512 + 96 * deductions.size());
  internal::JsonWriter w(&out);
  auto seconds = [&](int64_t ms) {
    if (ms == kNoTime) w.Null();
    else w.Double(ms / 1000.0);
  };
  w.BeginObject();
  w.Key("conversation_id");
  w.Str(conversation_id);
  w.Key("agent_id");
  w.StrOrNull(agent_id);
  w.Key("shop_id");
  w.StrOrNull(shop_id);
  w.Key("day");
  w.StrOrNull(day);
  w.Key("start_ms");
  if (start_ms == kNoTime) w.Null();
  else w.Int(start_ms);
  w.Key("turns");
  w.Int(turns);
  w.Key("agent_turns");
  w.Int(agent_turns);
  w.Key("customer_turns");
  w.Int(customer_turns);
  w.Key("score");
  w.Int(score);
  w.Key("first_response_s");
  seconds(first_response_ms);
  w.Key("replies");
  w.Int(static_cast<int64_t>(reply_ms.size()));
  w.Key("replies_within");
  w.Int(replies_within);
  w.Key("reply_limit_s");
  if (reply_limit_ms > 0) w.Double(reply_limit_ms / 1000.0);
  else w.Null();
  w.Key("longest_wait_s");
  seconds(longest_wait_ms);
  w.Key("untimed_replies");
  w.Int(untimed_replies);
  w.Key("promotion");
  w.Bool(promotion);
  w.Key("block");
  w.Int(findings[2]);
  w.Key("review");
  w.Int(findings[1]);
  w.Key("advice");
  w.Int(findings[0]);
  for (size_t i = 0; i < kCheckCount; ++i) {
    w.Key(CheckName(static_cast<Check>(i)));
    w.Str(OutcomeName(outcomes[i]));
  }
  w.Key("deductions");
  w.BeginArray();
  for (const Deduction& d : deductions) {
    w.BeginObject();
    w.Key("check");
    w.Str(CheckName(d.check));
    w.Key("turn");
    w.Int(d.turn);
    w.Key("points");
    w.Int(d.points);
    w.Key("detail");
    w.Str(d.detail);
    w.EndObject();
  }
  w.EndArray();
  w.Key("promises");
  w.BeginArray();
  for (const Promise& p : promises) {
    w.BeginObject();
    w.Key("turn");
    w.Int(p.turn);
    w.Key("text");
    w.Str(p.text);
    w.EndObject();
  }
  w.EndArray();
  w.Key("reply_s");
  w.BeginArray();
  for (int64_t ms : reply_ms) w.Double(ms / 1000.0);
  w.EndArray();
  w.EndObject();
  return out;
}

// ---------------------------------------------------------------- ConversationAudit

class ConversationAuditImpl {
 public:
  ConversationAuditImpl(std::shared_ptr<const Scorecard> card, std::optional<Scanner> masker,
                        AuditOptions options)
      : card_(card), masker_(std::move(masker)), options_(std::move(options)),
        summary_(card, options_.summary) {}

  void Add(std::string_view id, Turn&& turn, absl::FunctionRef<void(const ConversationResult&)> on_result) {
    if (turn.role == Role::kOther) return;
    Entry* e = nullptr;
    if (last_ != nullptr && last_id_ == id) {
      e = last_;
    } else {
      auto it = open_.find(absl::string_view(id.data(), id.size()));
      if (it != open_.end()) e = &it->second;
    }
    if (e != nullptr && started_ - e->last_started >= options_.close_after) {
      // Quiet for too long: this message starts a new conversation.
      Close(std::string(id), on_result);
      e = nullptr;
    }
    if (e == nullptr) {
      // Every kSweepEvery new conversations, the quiet ones close (memory stays bounded).
      if (options_.close_after > 0 && started_ > 0 && started_ % kSweepEvery == 0) Sweep(on_result);
      ++started_;
      auto [it, inserted] = open_.try_emplace(std::string(id), Entry{Conversation(card_, std::string(id)), started_, started_});
      (void)inserted;
      e = &it->second;
    }
    e->last_started = started_;
    e->conversation.Add(std::move(turn));
    last_ = e;
    last_id_.assign(id.data(), id.size());
  }

  void Finish(absl::FunctionRef<void(const ConversationResult&)> on_result) {
    std::vector<std::pair<uint64_t, std::string>> ids;
    for (const auto& [id, e] : open_) ids.emplace_back(e.opened, id);
    std::sort(ids.begin(), ids.end());
    for (auto& [seq, id] : ids) Close(id, on_result);
  }

  uint64_t opened() const { return started_; }
  ConversationSummary& summary() { return summary_; }

 private:
  struct Entry {
    Conversation conversation;
    uint64_t opened;
    uint64_t last_started;  // started_ when it last had a message
  };
  static constexpr uint64_t kSweepEvery = 1024;

  // Closes the conversations that have been quiet while close_after others started, in the
  // order they started.
  void Sweep(absl::FunctionRef<void(const ConversationResult&)> on_result) {
    std::vector<std::pair<uint64_t, std::string>> ids;
    for (const auto& [id, e] : open_)
      if (started_ - e.last_started >= options_.close_after) ids.emplace_back(e.opened, id);
    std::sort(ids.begin(), ids.end());
    for (auto& [seq, id] : ids) Close(id, on_result);
  }

  void Close(const std::string& id, absl::FunctionRef<void(const ConversationResult&)> on_result) {
    auto it = open_.find(id);
    if (it == open_.end()) return;
    last_ = nullptr;
    const Conversation& c = it->second.conversation;
    ConversationResult r = c.Score(options_.zone);
    if (summary_.Keeps(r)) {
      std::vector<ExcerptLine> lines = c.Excerpt(r);
      // Customer lines are always masked: a customer's personal data leaves the process masked
      // even when the agents' text is shown as it is (AuditOptions::mask false).
      for (ExcerptLine& l : lines)
        if (options_.mask || l.role == Role::kCustomer) {
          absl::StatusOr<std::string> shown = masker_ ? masker_->Mask(l.text) : absl::StatusOr<std::string>(MaskPersonalData(l.text));
          l.text = shown.ok() ? *std::move(shown) : MaskPersonalData(l.text);
        }
      summary_.Add(r, std::move(lines));
    } else {
      summary_.Add(r);
    }
    open_.erase(it);
    on_result(r);
  }

  std::shared_ptr<const Scorecard> card_;
  std::optional<Scanner> masker_;
  AuditOptions options_;
  ConversationSummary summary_;
  absl::flat_hash_map<std::string, Entry> open_;
  uint64_t started_ = 0;
  Entry* last_ = nullptr;  // the entry of last_id_ (valid until the table changes)
  std::string last_id_;
};

absl::StatusOr<ConversationAudit> ConversationAudit::Create(std::shared_ptr<const Scorecard> scorecard,
                                                            std::shared_ptr<const Filter> filter,
                                                            AuditOptions options) {
  if (!scorecard) return absl::InvalidArgumentError("ConversationAudit: no scorecard");
  std::optional<Scanner> masker;
  if (filter) {
    absl::StatusOr<Scanner> s = Scanner::Create(filter);
    if (!s.ok()) return s.status();
    masker.emplace(*std::move(s));
  }
  return ConversationAudit(
      std::make_unique<ConversationAuditImpl>(std::move(scorecard), std::move(masker), std::move(options)));
}

ConversationAudit::ConversationAudit(std::unique_ptr<ConversationAuditImpl> impl) : impl_(std::move(impl)) {}
ConversationAudit::ConversationAudit(ConversationAudit&&) noexcept = default;
ConversationAudit& ConversationAudit::operator=(ConversationAudit&&) noexcept = default;
ConversationAudit::~ConversationAudit() = default;

void ConversationAudit::Add(std::string_view conversation_id, Turn turn,
                            absl::FunctionRef<void(const ConversationResult&)> on_result) {
  impl_->Add(conversation_id, std::move(turn), on_result);
}
void ConversationAudit::Finish(absl::FunctionRef<void(const ConversationResult&)> on_result) {
  impl_->Finish(on_result);
}
uint64_t ConversationAudit::opened() const { return impl_->opened(); }
const ConversationSummary& ConversationAudit::summary() const { return impl_->summary(); }
ConversationSummary& ConversationAudit::summary() { return impl_->summary(); }

}  // namespace scriptqa
