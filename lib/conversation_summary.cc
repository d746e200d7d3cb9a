// ConversationSummary (scriptqa/conversation.h): conversation results per agent, shop and day,
// with exact percentiles, mergeable in any order.
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "scriptqa/conversation.h"

namespace scriptqa {

double Quantile(absl::Span<const double> sorted, double q) {
  const size_t n = sorted.size();
  if (n == 0) return 0;
  // pandas' Series.quantile(q) calls numpy.percentile(values, q * 100), which divides by 100
  // again; "linear" puts the quantile at (n - 1) * q and interpolates with NumPy's _lerp.
  const double qq = (q * 100.0) / 100.0;
  const double v = static_cast<double>(n - 1) * qq;
  if (!(v > 0)) return sorted[0];
  if (v >= static_cast<double>(n - 1)) return sorted[n - 1];
  const double lo = std::floor(v);
  const size_t i = static_cast<size_t>(lo);
  const double t = v - lo, a = sorted[i], b = sorted[i + 1], diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

namespace {

using json = nlohmann::ordered_json;

struct CheckAgg {
  uint64_t applicable = 0, failed = 0;
  int64_t points = 0;
};
struct Timing {
  uint64_t count = 0, within = 0;
  int64_t sum_ms = 0;
};

struct Group {
  uint64_t n = 0;
  int64_t score_sum = 0;
  std::array<uint64_t, 101> hist{};
  std::array<CheckAgg, kCheckCount> checks{};
  Timing first, replies;
  uint64_t untimed = 0;
  uint64_t greet_checked = 0, greet_ok = 0;
  std::array<uint64_t, 3> findings{};
  uint64_t promises = 0;

  void Add(const ConversationResult& r, int64_t first_limit_ms) {
    ++n;
    score_sum += r.score;
    ++hist[std::clamp(r.score, 0, 100)];
    for (size_t i = 0; i < kCheckCount; ++i) {
      Outcome o = r.outcomes[i];
      if (o == Outcome::kPass || o == Outcome::kFail) ++checks[i].applicable;
      if (o == Outcome::kFail) ++checks[i].failed;
    }
    for (const Deduction& d : r.deductions) checks[static_cast<size_t>(d.check)].points += d.points;
    if (r.first_response_ms != kNoTime) {
      ++first.count;
      first.within += r.first_response_ms <= first_limit_ms;
      first.sum_ms += r.first_response_ms;
    }
    replies.count += r.reply_ms.size();
    replies.within += r.replies_within;
    for (int64_t ms : r.reply_ms) replies.sum_ms += ms;
    untimed += r.untimed_replies;
    Outcome g = r.outcome(Check::kGreeting);
    if (g == Outcome::kPass || g == Outcome::kFail) {
      ++greet_checked;
      greet_ok += g == Outcome::kPass;
    }
    for (size_t k = 0; k < 3; ++k) findings[k] += r.findings[k];
    promises += r.promises.size();
  }

  void Merge(const Group& o) {
    n += o.n;
    score_sum += o.score_sum;
    for (size_t i = 0; i < hist.size(); ++i) hist[i] += o.hist[i];
    for (size_t i = 0; i < kCheckCount; ++i) {
      checks[i].applicable += o.checks[i].applicable;
      checks[i].failed += o.checks[i].failed;
      checks[i].points += o.checks[i].points;
    }
    for (auto [x, y] : {std::pair<Timing*, const Timing*>{&first, &o.first}, {&replies, &o.replies}}) {
      x->count += y->count;
      x->within += y->within;
      x->sum_ms += y->sum_ms;
    }
    untimed += o.untimed;
    greet_checked += o.greet_checked;
    greet_ok += o.greet_ok;
    for (size_t k = 0; k < 3; ++k) findings[k] += o.findings[k];
    promises += o.promises;
  }

  // The k-th (0-based) score in order.
  double ScoreAt(uint64_t k) const {
    uint64_t seen = 0;
    for (size_t s = 0; s < hist.size(); ++s) {
      seen += hist[s];
      if (seen > k) return static_cast<double>(s);
    }
    return 100;
  }
};

// Quantile over a distribution given by the k-th value (see Quantile above).
template <typename At>
json QuantileOf(uint64_t n, double q, At at) {
  if (n == 0) return nullptr;
  const double qq = (q * 100.0) / 100.0;
  const double v = static_cast<double>(n - 1) * qq;
  if (!(v > 0)) return at(0);
  if (v >= static_cast<double>(n - 1)) return at(n - 1);
  const double lo = std::floor(v);
  const uint64_t i = static_cast<uint64_t>(lo);
  const double t = v - lo, a = at(i), b = at(i + 1), diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

double SecondsAt(const std::map<int64_t, uint64_t>& m, uint64_t k) {
  uint64_t seen = 0;
  for (const auto& [ms, c] : m) {
    seen += c;
    if (seen > k) return ms / 1000.0;
  }
  return m.empty() ? 0 : m.rbegin()->first / 1000.0;
}

json Rate(uint64_t num, uint64_t den) { return den == 0 ? json(nullptr) : json(static_cast<double>(num) / den); }
json Mean(int64_t sum, uint64_t n, double scale = 1) {
  return n == 0 ? json(nullptr) : json(static_cast<double>(sum) / static_cast<double>(n) / scale);
}

json TimingJson(const Timing& t) {
  return {{"count", t.count}, {"within", t.within}, {"mean_s", Mean(t.sum_ms, t.count, 1000.0)}};
}

struct Worst {
  int score = 0;
  std::string id, agent, shop, day;
  int64_t start = kNoTime;
  int turns = 0;
  std::vector<Deduction> deductions;
  std::vector<ExcerptLine> excerpt;
};

bool Before(const Worst& a, const Worst& b) {
  if (a.score != b.score) return a.score < b.score;
  if (a.id != b.id) return a.id < b.id;
  if (a.start != b.start) return a.start < b.start;
  return a.turns < b.turns;
}

std::string RoleName(Role r) { return r == Role::kAgent ? "agent" : r == Role::kCustomer ? "customer" : "other"; }
Role RoleOf(const std::string& s) { return s == "agent" ? Role::kAgent : s == "customer" ? Role::kCustomer : Role::kOther; }

json GroupsToJson(const std::vector<std::pair<std::string, Group>>& groups, const char* key) {
  json out = json::array();
  for (const auto& entry : groups) {
    // Not a structured binding: lambdas below capture g (C++17 does not let them capture one).
    const std::string& name = entry.first;
    const Group& g = entry.second;
    json j;
    j[key] = name.empty() ? json(nullptr) : json(name);
    j["conversations"] = g.n;
    j["mean_score"] = Mean(g.score_sum, g.n);
    j["median_score"] = QuantileOf(g.n, 0.5, [&](uint64_t k) { return g.ScoreAt(k); });
    j["p10_score"] = QuantileOf(g.n, 0.1, [&](uint64_t k) { return g.ScoreAt(k); });
    json checks = json::object();
    std::vector<size_t> failing;
    for (size_t i = 0; i < kCheckCount; ++i) {
      if (g.checks[i].applicable == 0) continue;
      checks[std::string(CheckName(static_cast<Check>(i)))] = {
          {"applicable", g.checks[i].applicable}, {"failed", g.checks[i].failed}, {"points", g.checks[i].points}};
      if (g.checks[i].failed > 0) failing.push_back(i);
    }
    std::stable_sort(failing.begin(), failing.end(), [&](size_t a, size_t b) {
      if (g.checks[a].points != g.checks[b].points) return g.checks[a].points > g.checks[b].points;
      return g.checks[a].failed > g.checks[b].failed;
    });
    json worst = json::array();
    for (size_t k = 0; k < failing.size() && k < 3; ++k)
      worst.push_back({{"check", std::string(CheckName(static_cast<Check>(failing[k])))},
                       {"failed", g.checks[failing[k]].failed},
                       {"points", g.checks[failing[k]].points}});
    j["worst_checks"] = std::move(worst);
    j["checks"] = std::move(checks);
    j["greeting"] = {{"checked", g.greet_checked}, {"ok", g.greet_ok}};
    j["first_response"] = TimingJson(g.first);
    j["replies"] = TimingJson(g.replies);
    j["findings"] = {{"block", g.findings[2]}, {"review", g.findings[1]}, {"advice", g.findings[0]}};
    out.push_back(std::move(j));
  }
  return out;
}

json GroupState(const Group& g) {
  json checks = json::array();
  for (const CheckAgg& c : g.checks) checks.push_back({c.applicable, c.failed, c.points});
  return {{"n", g.n},
          {"sum", g.score_sum},
          {"hist", g.hist},
          {"checks", checks},
          {"first", {g.first.count, g.first.within, g.first.sum_ms}},
          {"replies", {g.replies.count, g.replies.within, g.replies.sum_ms}},
          {"untimed", g.untimed},
          {"greet", {g.greet_checked, g.greet_ok}},
          {"findings", g.findings},
          {"promises", g.promises}};
}

Group GroupFrom(const json& j) {
  Group g;
  g.n = j.at("n").get<uint64_t>();
  g.score_sum = j.at("sum").get<int64_t>();
  g.hist = j.at("hist").get<std::array<uint64_t, 101>>();
  const json& checks = j.at("checks");
  for (size_t i = 0; i < kCheckCount && i < checks.size(); ++i) {
    g.checks[i].applicable = checks[i].at(0).get<uint64_t>();
    g.checks[i].failed = checks[i].at(1).get<uint64_t>();
    g.checks[i].points = checks[i].at(2).get<int64_t>();
  }
  for (auto [t, key] : {std::pair<Timing*, const char*>{&g.first, "first"}, {&g.replies, "replies"}}) {
    const json& x = j.at(key);
    t->count = x.at(0).get<uint64_t>();
    t->within = x.at(1).get<uint64_t>();
    t->sum_ms = x.at(2).get<int64_t>();
  }
  g.untimed = j.at("untimed").get<uint64_t>();
  g.greet_checked = j.at("greet").at(0).get<uint64_t>();
  g.greet_ok = j.at("greet").at(1).get<uint64_t>();
  g.findings = j.at("findings").get<std::array<uint64_t, 3>>();
  g.promises = j.at("promises").get<uint64_t>();
  return g;
}

}  // namespace

class ConversationSummaryImpl {
 public:
  ConversationSummaryImpl(std::shared_ptr<const Scorecard> card, SummaryOptions options)
      : card_(std::move(card)), options_(std::move(options)) {
    first_limit_ms_ = card_->check(Check::kFirstResponse).limit_ms;
  }

  bool Keeps(const ConversationResult& r) const {
    if (options_.worst == 0) return false;
    if (worst_.size() < options_.worst) return true;
    return Before(Key(r), worst_.back());
  }

  void Add(const ConversationResult& r, std::vector<ExcerptLine> excerpt) {
    all_.Add(r, first_limit_ms_);
    agents_[r.agent_id].Add(r, first_limit_ms_);
    shops_[r.shop_id].Add(r, first_limit_ms_);
    if (!r.day.empty()) days_[r.day].Add(r, first_limit_ms_);
    timed_ += r.start_ms != kNoTime;
    if (r.first_response_ms != kNoTime) ++first_ms_[r.first_response_ms];
    for (int64_t ms : r.reply_ms) ++reply_ms_[ms];
    if (Keeps(r)) {
      Worst w = Key(r);
      w.deductions = r.deductions;
      w.excerpt = std::move(excerpt);
      Insert(std::move(w));
    }
  }

  void Merge(const ConversationSummaryImpl& o) {
    all_.Merge(o.all_);
    for (const auto& [k, g] : o.agents_) agents_[k].Merge(g);
    for (const auto& [k, g] : o.shops_) shops_[k].Merge(g);
    for (const auto& [k, g] : o.days_) days_[k].Merge(g);
    timed_ += o.timed_;
    for (const auto& [ms, c] : o.first_ms_) first_ms_[ms] += c;
    for (const auto& [ms, c] : o.reply_ms_) reply_ms_[ms] += c;
    for (const Worst& w : o.worst_) Insert(w);
  }

  std::string Serialize() const {
    json j;
    j["format"] = "scriptqa-conversation-summary 1";
    j["all"] = GroupState(all_);
    for (auto [map, key] : {std::pair<const absl::flat_hash_map<std::string, Group>*, const char*>{&agents_, "agents"},
                            {&shops_, "shops"},
                            {&days_, "days"}}) {
      json m = json::array();
      for (const auto& [k, g] : Sorted(*map)) m.push_back({k, GroupState(g)});
      j[key] = std::move(m);
    }
    j["timed"] = timed_;
    j["first_ms"] = first_ms_;
    j["reply_ms"] = reply_ms_;
    json worst = json::array();
    for (const Worst& w : worst_) {
      json ds = json::array();
      for (const Deduction& d : w.deductions)
        ds.push_back({std::string(CheckName(d.check)), d.turn, d.points, d.detail});
      json ex = json::array();
      for (const ExcerptLine& l : w.excerpt) ex.push_back({l.turn, RoleName(l.role), l.text});
      worst.push_back({w.score, w.id, w.agent, w.shop, w.day, w.start, w.turns, ds, ex});
    }
    j["worst"] = std::move(worst);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  absl::Status Deserialize(std::string_view bytes) {
    json j = json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || j.value("format", "") != "scriptqa-conversation-summary 1")
      return absl::InvalidArgumentError("not a serialized conversation summary");
    // nlohmann reports structural errors by exception; the library does not let them out.
    try {
      all_ = GroupFrom(j.at("all"));
      for (auto [map, key] : {std::pair<absl::flat_hash_map<std::string, Group>*, const char*>{&agents_, "agents"},
                              {&shops_, "shops"},
                              {&days_, "days"}})
        for (const json& e : j.at(key)) (*map)[e.at(0).get<std::string>()] = GroupFrom(e.at(1));
      timed_ = j.at("timed").get<uint64_t>();
      first_ms_ = j.at("first_ms").get<std::map<int64_t, uint64_t>>();
      reply_ms_ = j.at("reply_ms").get<std::map<int64_t, uint64_t>>();
      for (const json& w : j.at("worst")) {
        Worst x;
        x.score = w.at(0).get<int>();
        x.id = w.at(1).get<std::string>();
        x.agent = w.at(2).get<std::string>();
        x.shop = w.at(3).get<std::string>();
        x.day = w.at(4).get<std::string>();
        x.start = w.at(5).get<int64_t>();
        x.turns = w.at(6).get<int>();
        for (const json& d : w.at(7)) {
          Deduction y;
          if (!ParseCheckName(d.at(0).get<std::string>(), &y.check))
            return absl::InvalidArgumentError("serialized summary: unknown check");
          y.turn = d.at(1).get<int64_t>();
          y.points = d.at(2).get<int>();
          y.detail = d.at(3).get<std::string>();
          x.deductions.push_back(std::move(y));
        }
        for (const json& l : w.at(8))
          x.excerpt.push_back(ExcerptLine{l.at(0).get<int64_t>(), RoleOf(l.at(1).get<std::string>()),
                                          l.at(2).get<std::string>()});
        Insert(std::move(x));
      }
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("damaged serialized summary: ", e.what()));
    }
    return absl::OkStatus();
  }

  uint64_t conversations() const { return all_.n; }

  std::string ToJson() const {
    const ScorecardSettings& s = card_->settings();
    const CheckSettings& fr = s[Check::kFirstResponse];
    const CheckSettings& rp = s[Check::kReplyTime];
    json j;
    j["total"] = all_.n;
    j["scorecard"] = json::parse(card_->ToJson());
    j["greeting"] = {{"checked", all_.greet_checked}, {"ok", all_.greet_ok}, {"rate", Rate(all_.greet_ok, all_.greet_checked)}};
    bool timing = all_.first.count + all_.replies.count > 0;
    j["timing_available"] = timing;
    j["timing_note"] = timing ? ""
                       : timed_ == 0
                           ? absl::StrCat("the input has no timestamps (field \"", options_.timestamp_field, "\")")
                           : "no customer message with a timestamp was answered by a timed agent message";
    auto timing_json = [&](const Timing& t, const std::map<int64_t, uint64_t>& m, json limits) {
      json x = std::move(limits);
      x["count"] = t.count;
      x["within"] = t.within;
      x["within_rate"] = Rate(t.within, t.count);
      x["mean_s"] = Mean(t.sum_ms, t.count, 1000.0);
      x["median_s"] = QuantileOf(t.count, 0.5, [&](uint64_t k) { return SecondsAt(m, k); });
      x["p90_s"] = QuantileOf(t.count, 0.9, [&](uint64_t k) { return SecondsAt(m, k); });
      x["max_s"] = m.empty() ? json(nullptr) : json(m.rbegin()->first / 1000.0);
      return x;
    };
    j["first_response"] = timing_json(all_.first, first_ms_, {{"limit_s", fr.limit_ms / 1000.0}});
    j["replies"] = timing_json(all_.replies, reply_ms_,
                               {{"limit_s", rp.limit_ms / 1000.0}, {"promo_limit_s", rp.promo_limit_ms / 1000.0}});
    j["untimed_replies"] = all_.untimed;
    json score;
    auto at = [&](uint64_t k) { return all_.ScoreAt(k); };
    score["mean"] = Mean(all_.score_sum, all_.n);
    score["min"] = all_.n == 0 ? json(nullptr) : json(at(0));
    score["p10"] = QuantileOf(all_.n, 0.1, at);
    score["p25"] = QuantileOf(all_.n, 0.25, at);
    score["median"] = QuantileOf(all_.n, 0.5, at);
    score["p75"] = QuantileOf(all_.n, 0.75, at);
    score["p90"] = QuantileOf(all_.n, 0.9, at);
    score["max"] = all_.n == 0 ? json(nullptr) : json(at(all_.n - 1));
    json dist = json::array();
    for (int from = 0; from < 100; from += 10) {
      int to = from == 90 ? 100 : from + 9;
      uint64_t c = 0;
      for (int v = from; v <= to; ++v) c += all_.hist[v];
      dist.push_back({{"from", from}, {"to", to}, {"count", c}});
    }
    score["distribution"] = std::move(dist);
    j["score"] = std::move(score);
    json checks = json::array();
    for (size_t i = 0; i < kCheckCount; ++i) {
      const CheckAgg& c = all_.checks[i];
      checks.push_back({{"check", std::string(CheckName(static_cast<Check>(i)))},
                        {"enabled", s.checks[i].enabled},
                        {"applicable", c.applicable},
                        {"failed", c.failed},
                        {"fail_rate", Rate(c.failed, c.applicable)},
                        {"points", c.points}});
    }
    j["checks"] = std::move(checks);
    j["findings"] = {{"block", all_.findings[2]}, {"review", all_.findings[1]}, {"advice", all_.findings[0]}};
    j["promises"] = all_.promises;
    auto by_score = [](std::vector<std::pair<std::string, Group>> v) {
      std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        // Lowest mean first: sum_a / n_a < sum_b / n_b without rounding.
        __int128 l = static_cast<__int128>(a.second.score_sum) * b.second.n;
        __int128 r = static_cast<__int128>(b.second.score_sum) * a.second.n;
        if (l != r) return l < r;
        return a.first < b.first;
      });
      return v;
    };
    j["by_agent"] = GroupsToJson(by_score(Sorted(agents_)), "agent");
    j["by_shop"] = GroupsToJson(by_score(Sorted(shops_)), "shop");
    j["by_day"] = GroupsToJson(Sorted(days_), "day");
    json worst = json::array();
    for (const Worst& w : worst_) {
      json ds = json::array();
      for (const Deduction& d : w.deductions)
        ds.push_back({{"check", std::string(CheckName(d.check))}, {"turn", d.turn}, {"points", d.points}, {"detail", d.detail}});
      json ex = json::array();
      for (const ExcerptLine& l : w.excerpt) ex.push_back({{"turn", l.turn}, {"role", RoleName(l.role)}, {"text", l.text}});
      worst.push_back({{"conversation_id", w.id},
                       {"agent_id", w.agent.empty() ? json(nullptr) : json(w.agent)},
                       {"shop_id", w.shop.empty() ? json(nullptr) : json(w.shop)},
                       {"day", w.day.empty() ? json(nullptr) : json(w.day)},
                       {"score", w.score},
                       {"deductions", std::move(ds)},
                       {"excerpt", std::move(ex)}});
    }
    j["worst"] = std::move(worst);
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  std::string AgentJson(std::string_view agent) const {
    auto it = agents_.find(std::string(agent));
    if (it == agents_.end()) return "{}";
    const Group& g = it->second;
    json j = {{"conversations", g.n},
              {"mean_score", Mean(g.score_sum, g.n)},
              {"greeting", {{"checked", g.greet_checked}, {"ok", g.greet_ok}}},
              {"first_response", TimingJson(g.first)},
              {"replies", TimingJson(g.replies)}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  const std::shared_ptr<const Scorecard>& card() const { return card_; }

 private:
  static Worst Key(const ConversationResult& r) {
    Worst w;
    w.score = r.score;
    w.id = r.conversation_id;
    w.agent = r.agent_id;
    w.shop = r.shop_id;
    w.day = r.day;
    w.start = r.start_ms;
    w.turns = r.turns;
    return w;
  }

  void Insert(Worst w) {
    if (options_.worst == 0) return;
    auto pos = std::upper_bound(worst_.begin(), worst_.end(), w, Before);
    if (static_cast<size_t>(pos - worst_.begin()) >= options_.worst) return;
    worst_.insert(pos, std::move(w));
    if (worst_.size() > options_.worst) worst_.pop_back();
  }

  static std::vector<std::pair<std::string, Group>> Sorted(const absl::flat_hash_map<std::string, Group>& m) {
    std::vector<std::pair<std::string, Group>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    return v;
  }

  std::shared_ptr<const Scorecard> card_;
  SummaryOptions options_;
  int64_t first_limit_ms_ = 0;
  Group all_;
  absl::flat_hash_map<std::string, Group> agents_, shops_, days_;
  uint64_t timed_ = 0;  // conversations with a timestamp
  std::map<int64_t, uint64_t> first_ms_, reply_ms_;
  std::vector<Worst> worst_;  // sorted by Before, at most options_.worst
};

ConversationSummary::ConversationSummary(std::shared_ptr<const Scorecard> scorecard, SummaryOptions options)
    : impl_(std::make_unique<ConversationSummaryImpl>(std::move(scorecard), std::move(options))) {}
ConversationSummary::ConversationSummary(std::unique_ptr<ConversationSummaryImpl> impl) : impl_(std::move(impl)) {}
ConversationSummary::ConversationSummary(ConversationSummary&&) noexcept = default;
ConversationSummary& ConversationSummary::operator=(ConversationSummary&&) noexcept = default;
ConversationSummary::~ConversationSummary() = default;

bool ConversationSummary::Keeps(const ConversationResult& result) const { return impl_->Keeps(result); }
void ConversationSummary::Add(const ConversationResult& result, std::vector<ExcerptLine> excerpt) {
  impl_->Add(result, std::move(excerpt));
}
absl::Status ConversationSummary::Merge(const ConversationSummary& other) {
  if (other.impl_->card()->ToJson() != impl_->card()->ToJson())
    return absl::InvalidArgumentError("ConversationSummary::Merge: summaries of different scorecards");
  impl_->Merge(*other.impl_);
  return absl::OkStatus();
}
std::string ConversationSummary::Serialize() const { return impl_->Serialize(); }
absl::StatusOr<ConversationSummary> ConversationSummary::Deserialize(std::shared_ptr<const Scorecard> scorecard,
                                                                     std::string_view bytes,
                                                                     SummaryOptions options) {
  if (!scorecard) return absl::InvalidArgumentError("ConversationSummary::Deserialize: no scorecard");
  auto impl = std::make_unique<ConversationSummaryImpl>(std::move(scorecard), std::move(options));
  absl::Status st = impl->Deserialize(bytes);
  if (!st.ok()) return st;
  return ConversationSummary(std::move(impl));
}
uint64_t ConversationSummary::conversations() const { return impl_->conversations(); }
std::string ConversationSummary::ToJson() const { return impl_->ToJson(); }
std::string ConversationSummary::AgentJson(std::string_view agent) const { return impl_->AgentJson(agent); }

}  // namespace scriptqa
