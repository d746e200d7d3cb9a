// scriptqa/conversation.h — conversation QA: metrics, checks and a 0–100 score per conversation,
// against a scorecard (质检评分表), and their summary per agent, shop and day.
//
// The message filter (scanner.h) judges one agent message. A QA team also scores whole
// conversations: was the first response within 30 s, did the agent introduce themselves, calm
// an upset customer with an apology and a next step with a time, leave the customer's last
// question unanswered? A Scorecard says which checks apply, their thresholds and their points;
// this header turns messages into those results. The CLI's audit, the Python package and its Dask
// helpers all use it, so the three give the same rows.
//
//   auto card = scriptqa::Scorecard::Default();                  // dictionaries/default.scorecard
//   auto filter = scriptqa::Filter::Default();
//   auto audit = scriptqa::ConversationAudit::Create(*card, *filter);   // one per thread of input
//   auto analyzer = scriptqa::TurnAnalyzer::Create(*card);               // one per worker thread
//   scriptqa::Turn turn;
//   analyzer->Analyze({scriptqa::Role::kCustomer, "在吗？快递三天没动了", t0}, &turn);
//   audit->Add("c-1", std::move(turn), [](const scriptqa::ConversationResult& r) {
//     std::cout << r.ToJson() << "\n";                            // a conversation that closed
//   });
//   ...
//   audit->Finish([](const scriptqa::ConversationResult& r) { /* … */ });  // the rest
//   std::cout << audit->summary().ToJson() << "\n";
//
// The pipeline, and which piece runs where:
//   1. TurnAnalyzer (one per thread, like Scanner) reads one message: the scorecard's cues
//      (greeting, closing, apology, next step, promise, upset, acknowledgement, question, a
//      request back; the cue vocabulary is a rule file, dictionaries/conversation.cues),
//      exclamation runs, a signature of a customer's question, and the findings of the message
//      (passed in: the caller scans agent messages with its own Scanner and filter). Keeps
//      nothing between calls, so workers run it in parallel.
//   2. Conversation collects one conversation's Turns in any order and scores them: it orders
//      them (turn numbers, else times, else input order), measures waits, runs the checks and
//      lists deductions that name the turn. Score() is deterministic.
//   3. ConversationAudit groups a stream of messages by conversation id, closes conversations
//      that have gone quiet (below), scores them, masks excerpts and adds them to a
//      ConversationSummary. Sequential: feed it in input order from one thread.
//   4. ConversationSummary aggregates results per agent, shop and day; summaries of parts of an
//      input merge (Dask), in any order, into exactly the summary of the whole.
//
// Checks, thresholds, points and the cue vocabulary: docs/scorecard.md. The default scorecard
// follows the service standards (first response ≤ 30 s, each later reply ≤ 2 min, 3 min in
// promotion periods, identity greeting, closing, concrete empathy with a next step).
//
// Thread safety: Scorecard is immutable and thread-safe (share it). TurnAnalyzer, Conversation,
// ConversationAudit and ConversationSummary are not thread-safe; use one per thread (an analyzer
// detects concurrent use like Scanner does and returns FailedPrecondition).
//
// Ownership: a Turn owns its strings; the views in a Message must stay valid during Analyze or
// Add only. Results own everything (strings are copied).
//
// Times: epoch milliseconds (int64), kNoTime when unknown. A wait needs both ends timed; a wait
// whose end is before its start (times that contradict the turn order) counts as untimed.
//
// Errors: factories and parsers return absl::Status; nothing throws, logs or exits.
#ifndef SCRIPTQA_CONVERSATION_H_
#define SCRIPTQA_CONVERSATION_H_

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "scriptqa/filter.h"
#include "scriptqa/types.h"

namespace scriptqa {

class Scanner;

// ---------------------------------------------------------------- times

inline constexpr int64_t kNoTime = std::numeric_limits<int64_t>::min();

// A timestamp as chat exports write it, in epoch milliseconds:
//   * a number, or a string of digits (and one '.'): epoch seconds, or milliseconds when above
//     10^11 (EpochToMillis);
//   * ISO 8601: YYYY-MM-DD, optionally followed by 'T', 't' or a blank and HH:MM[:SS[.fff…]], and
//     by 'Z' or an offset ±HH, ±HHMM or ±HH:MM. Parsed with absl::ParseTime; a time without an
//     offset is read in `zone` (UTC by default, which keeps every difference within one export
//     right). Blanks around the text are ignored.
// Anything else (an impossible date, trailing text, a number out of range) is InvalidArgument.
absl::StatusOr<int64_t> ParseTimestamp(std::string_view text,
                                       absl::TimeZone zone = absl::UTCTimeZone());
// Epoch seconds, or milliseconds when above 10^11, as milliseconds (rounded). Not finite,
// negative or above 10^16: InvalidArgument.
absl::StatusOr<int64_t> EpochToMillis(double value);
// "UTC", "Z", a fixed offset ("+08:00", "+0800", "-05", "UTC+8"), or an IANA name
// ("Asia/Shanghai"; needs the system's tzdata). InvalidArgument otherwise.
absl::StatusOr<absl::TimeZone> ParseTimeZone(std::string_view name);

// ---------------------------------------------------------------- scorecard

// The checks a scorecard may enable. Their names (CheckName) are the scorecard's check ids and
// the keys of the result rows.
enum class Check : uint8_t {
  kFirstResponse,   // first agent response within the limit (IM: 30 s)
  kReplyTime,       // each later reply within the limit (2 min; 3 min in promotion periods)
  kLongestWait,     // the longest wait of the customer within the limit
  kGreeting,        // identity greeting in the first agent message
  kClosing,         // a closing in the last agent message(s)
  kUnanswered,      // the conversation does not end on a customer message that needs an answer
  kUpset,           // an upset customer gets an apology and a next step with a time, soon
  kRepeatQuestion,  // no customer question asked again after an answer (one-contact resolution);
                    // an agent message that only asks back is no answer
  kFindings,        // the message findings of the agent's messages, by severity
};
inline constexpr size_t kCheckCount = 9;
// "first_response", "reply_time", "longest_wait", "greeting", "closing", "unanswered", "upset",
// "repeat_question", "findings".
std::string_view CheckName(Check check);
bool ParseCheckName(std::string_view name, Check* check);

// One check's settings; which fields mean something depends on the check (docs/scorecard.md).
// | field            | checks                                       | meaning                      |
// |------------------|----------------------------------------------|------------------------------|
// | enabled          | all                                          | off: outcome "off", no points|
// | points           | all but findings                             | deducted per failure         |
// | max_points       | all                                          | cap of the check's deductions (0: none) |
// | limit_ms         | first_response, reply_time, longest_wait      | the time limit              |
// | promo_limit_ms   | reply_time                                   | the limit in promotion periods |
// | within           | closing, upset                               | agent messages (see docs)    |
// | exclamation_run  | upset                                        | this many ! in a row upset (0: off) |
// | repeat_is_upset  | upset                                        | a repeated question is upset |
// | similarity       | repeat_question                              | Jaccard of character bigrams |
// | min_chars        | repeat_question                              | shorter questions are skipped|
// | severity_points  | findings                                     | per finding: advice, review, block |
struct CheckSettings {
  bool enabled = false;
  int points = 0;
  int max_points = 0;
  int64_t limit_ms = 0;
  int64_t promo_limit_ms = 0;
  int within = 0;
  int exclamation_run = 0;
  bool repeat_is_upset = false;
  double similarity = 0;
  int min_chars = 0;
  std::array<int, 3> severity_points{};  // indexed by Severity
};

// Days (inclusive) of a promotion period, in the audit's time zone.
struct DayRange {
  absl::CivilDay first, last;
};

// What a scorecard file says (docs/scorecard.md).
struct ScorecardSettings {
  std::string title;
  std::array<CheckSettings, kCheckCount> checks;  // indexed by Check
  std::vector<DayRange> promotion_days;  // the reply limit is promo_limit_ms on these days
  bool promotion = false;  // every conversation is in a promotion period (the CLI's --promo)
  const CheckSettings& operator[](Check c) const { return checks[static_cast<size_t>(c)]; }
  CheckSettings& operator[](Check c) { return checks[static_cast<size_t>(c)]; }
};

class ScorecardImpl;

// A parsed scorecard with its compiled cue vocabulary. Immutable and thread-safe; share it.
class Scorecard {
 public:
  // Parses scorecard text. `name` is used in errors ("name:line: message", every problem, one
  // per line); `cues` statements are resolved against `base_dir`. The cue file is compiled with
  // the filter's rule language (about 0.1 s for the shipped one).
  static absl::StatusOr<std::shared_ptr<const Scorecard>> FromText(std::string_view text,
                                                                   std::string_view name,
                                                                   std::string_view base_dir);
  static absl::StatusOr<std::shared_ptr<const Scorecard>> FromFile(const std::string& path);
  // DefaultPath(): default.scorecard in Filter::DefaultDictionaryDir().
  static absl::StatusOr<std::shared_ptr<const Scorecard>> Default();
  static std::string DefaultPath();

  // The same cues with other settings (a front end's overrides, e.g. --reply-limit), checked
  // like a file's settings.
  absl::StatusOr<std::shared_ptr<const Scorecard>> WithSettings(ScorecardSettings settings) const;

  const ScorecardSettings& settings() const;
  const CheckSettings& check(Check c) const { return settings()[c]; }
  // The file (or name) it came from, and the cue file.
  const std::string& source() const;
  const std::string& cues_source() const;
  // The compiled cue vocabulary.
  const std::shared_ptr<const Filter>& cues() const;
  // {"title", "source", "cues", "promotion", "promotion_days", "checks": [{"check", "enabled",
  // "points", "max_points", ...}]}, for summaries.
  std::string ToJson() const;

  ~Scorecard();
  Scorecard(const Scorecard&) = delete;
  Scorecard& operator=(const Scorecard&) = delete;
  const ScorecardImpl& impl() const { return *impl_; }  // internal

 private:
  explicit Scorecard(std::unique_ptr<ScorecardImpl> impl);
  std::unique_ptr<ScorecardImpl> impl_;
};

// ---------------------------------------------------------------- messages and turns

enum class Role : uint8_t { kAgent, kCustomer, kOther };

// The cues a message can hold (the categories of the cue file).
enum class Cue : uint8_t {
  kHello,
  kIdentity,
  kClosing,
  kApology,
  kHollowEmpathy,
  kNextStep,
  kPromise,
  kUpset,
  kAcknowledgement,
  kQuestion,
  kAskBack,  // the agent asks the customer for something (an order number): no answer
};
inline constexpr size_t kCueCount = 11;
constexpr uint32_t CueBit(Cue c) { return uint32_t{1} << static_cast<unsigned>(c); }
// "hello", "identity", "closing", "apology", "hollow_empathy", "next_step", "promise", "upset",
// "acknowledgement", "question", "ask_back".
std::string_view CueName(Cue cue);

inline constexpr int64_t kNoTurnNumber = std::numeric_limits<int64_t>::min();

// One message as a front end has it. Views; valid during the call that takes it.
struct Message {
  Role role = Role::kOther;
  std::string_view text;
  int64_t time_ms = kNoTime;
  int64_t number = kNoTurnNumber;  // the record's integer turn number, if any
  std::string_view agent;          // agent id ("" unknown)
  std::string_view shop;           // shop id ("" unknown)
  // Agent messages: the findings the caller's scan reported (they are counted by severity and
  // named in deductions; the caller's scan options decide which count).
  absl::Span<const Finding> findings;
};

// An analysed message: what a Conversation needs of it, owned. Filled by TurnAnalyzer; the fields
// are public so that a front end can inspect them (e.g. list the cues of a message).
struct Turn {
  Role role = Role::kOther;
  int64_t time_ms = kNoTime;
  int64_t number = kNoTurnNumber;
  std::string agent, shop;
  uint32_t cues = 0;             // CueBit()s; kQuestion also for a '?' or '？' in the text
  uint32_t exclamation_run = 0;  // the longest run of '!' / '！'
  // Customer: the message asks something, or acknowledgements (好的, 谢谢…) are less than half of
  // its characters. Waits start only at such messages.
  bool needs_answer = false;
  // Agent: the message asks back rather than answers — it ends on a question (…是这个订单吗？)
  // or asks for something (cue ask_back: 提供一下订单号) — so a question the customer repeats
  // after it is no repeat (nor after the opening identity greeting).
  bool asks_back = false;
  std::array<uint32_t, 3> severity_counts{};  // findings by Severity
  // The findings' rule ids and severities ("ad_law.best:review"), for deductions.
  std::vector<std::string> findings;
  std::string promise;   // the follow-up promised (the cue's words, personal data masked)
  std::string upset;     // what made the customer upset (the cue's words)
  std::vector<uint32_t> question;  // a customer question's signature (sorted bigram hashes)
  std::string text;      // the start of the message, for excerpts (TurnOptions::keep_text)
};

// | option    | default | effect                                                              |
// |-----------|---------|---------------------------------------------------------------------|
// | keep_text | false   | keep the first kExcerptChars characters of each message (excerpts) |
// | mask      | true    | mask personal data (mask.h) in the kept promise words (the customer's |
// |           |         | words in Turn::upset are masked always)                             |
struct TurnOptions {
  bool keep_text = false;
  bool mask = true;
};
inline constexpr size_t kExcerptChars = 80;

class TurnAnalyzerImpl;

// Reads messages for their cues. One per thread (it owns a Scanner of the cue filter).
class TurnAnalyzer {
 public:
  static absl::StatusOr<TurnAnalyzer> Create(std::shared_ptr<const Scorecard> scorecard,
                                             TurnOptions options = {});
  TurnAnalyzer(TurnAnalyzer&&) noexcept;
  TurnAnalyzer& operator=(TurnAnalyzer&&) noexcept;
  ~TurnAnalyzer();

  absl::Status Analyze(const Message& message, Turn* turn);
  // Many messages, one engine pass per 64 KiB of them (Scanner::ScanBatch): the same turns as
  // Analyze on each. `turns` must be as long as `messages`.
  absl::Status AnalyzeBatch(absl::Span<const Message> messages, absl::Span<Turn> turns);

 private:
  explicit TurnAnalyzer(std::unique_ptr<TurnAnalyzerImpl> impl);
  std::unique_ptr<TurnAnalyzerImpl> impl_;
};

// ---------------------------------------------------------------- results

enum class Outcome : uint8_t {
  kOff,            // the scorecard does not apply the check
  kNotApplicable,  // nothing to check (no timestamps, no agent message, no upset customer …)
  kPass,
  kFail,
};
// "off", "n/a", "pass", "fail".
std::string_view OutcomeName(Outcome outcome);

// Points taken off, naming the turn. Within a check capped by max_points, the deduction that
// reaches the cap takes what is left and later ones take 0 (they are still listed).
struct Deduction {
  Check check = Check::kFindings;
  int64_t turn = 0;  // the turn number (the input's when every message has one, else 0-based)
  int points = 0;
  std::string detail;  // what was found, e.g. "first response after 45 s (limit 30 s)"
};

struct Promise {
  int64_t turn = 0;
  std::string text;
};

// One line of a transcript excerpt.
struct ExcerptLine {
  int64_t turn = 0;
  Role role = Role::kOther;
  std::string text;  // as shown (masked unless the caller opted out), at most kExcerptChars
};

struct ConversationResult {
  std::string conversation_id;
  std::string agent_id;  // the agent with the most messages (ties: the earlier); "" unknown
  std::string shop_id;   // the first one given; "" unknown
  std::string day;       // YYYY-MM-DD of the first timed message in the audit's zone; "" none
  int64_t start_ms = kNoTime;
  int turns = 0, agent_turns = 0, customer_turns = 0;
  int score = 100;  // 100 minus the deductions, at least 0
  bool promotion = false;  // the promotion reply limit applied
  // Metrics.
  int64_t first_response_ms = kNoTime;
  std::vector<int64_t> reply_ms;  // each timed later reply, in order
  int replies_within = 0;
  int64_t reply_limit_ms = 0;
  int64_t longest_wait_ms = kNoTime;
  int untimed_replies = 0;
  std::array<uint32_t, 3> findings{};  // by Severity
  std::array<Outcome, kCheckCount> outcomes{};
  std::vector<Deduction> deductions;  // in check order, then turn order
  std::vector<Promise> promises;

  Outcome outcome(Check c) const { return outcomes[static_cast<size_t>(c)]; }
  // One JSON object (one line, no newline), the row of conversations.jsonl (docs/cli.md):
  // conversation_id, agent_id, shop_id, day (null when unknown), start_ms, turns, agent_turns,
  // customer_turns, score, first_response_s, replies, replies_within, reply_limit_s,
  // longest_wait_s, untimed_replies, promotion, block, review, advice, one key per check with its
  // outcome name, deductions [{check, turn, points, detail}], promises [{turn, text}].
  std::string ToJson() const;
};

class ConversationImpl;

// One conversation's turns, scored. Not thread-safe.
class Conversation {
 public:
  Conversation(std::shared_ptr<const Scorecard> scorecard, std::string id);
  Conversation(Conversation&&) noexcept;
  Conversation& operator=(Conversation&&) noexcept;
  ~Conversation();

  // Turns may come in any order: Score() orders them by turn number when every turn has one,
  // else by time (a turn without a time keeps its place after the turn before it in input
  // order), else in input order; ties keep input order. Other roles are ignored.
  void Add(Turn turn);
  size_t size() const;
  const std::string& id() const;

  // The metrics, outcomes, deductions and score. `zone` fixes the day.
  ConversationResult Score(absl::TimeZone zone = absl::UTCTimeZone()) const;
  // Up to 6 turns around the result's largest deduction (or the start), as kept
  // (TurnOptions::keep_text; otherwise the lines are empty), not yet masked.
  std::vector<ExcerptLine> Excerpt(const ConversationResult& result) const;

 private:
  std::unique_ptr<ConversationImpl> impl_;
};

// ---------------------------------------------------------------- summaries

class ConversationSummaryImpl;

// | option          | default | effect                                            |
// |-----------------|---------|---------------------------------------------------|
// | worst           | 10      | conversations kept with their excerpts, lowest score first |
// | timestamp_field | "timestamp" | named in the note when the input has no times |
struct SummaryOptions {
  size_t worst = 10;
  std::string timestamp_field = "timestamp";
};

// Aggregates results per agent, shop and day, with score and response-time percentiles computed
// as pandas' quantile() computes them (linear interpolation between order statistics), exactly.
// Not thread-safe. Memory: per group a few hundred bytes, plus one entry per distinct wait (in ms).
class ConversationSummary {
 public:
  explicit ConversationSummary(std::shared_ptr<const Scorecard> scorecard,
                               SummaryOptions options = {});
  ConversationSummary(ConversationSummary&&) noexcept;
  ConversationSummary& operator=(ConversationSummary&&) noexcept;
  ~ConversationSummary();

  // Whether Add would keep `result` among the worst (so that the caller shows its excerpt).
  // Worst: lowest score, then conversation id — independent of the order of Add calls.
  bool Keeps(const ConversationResult& result) const;
  // `excerpt` as it may be shown (masked).
  void Add(const ConversationResult& result, std::vector<ExcerptLine> excerpt = {});
  // Adds another summary of the same scorecard (e.g. of another part of the input). The result
  // is the summary of all the results, whatever the order of Add and Merge calls.
  absl::Status Merge(const ConversationSummary& other);
  // An opaque string that Deserialize turns back into an equal summary (to send parts' summaries
  // between processes).
  std::string Serialize() const;
  static absl::StatusOr<ConversationSummary> Deserialize(std::shared_ptr<const Scorecard> scorecard,
                                                         std::string_view bytes,
                                                         SummaryOptions options = {});

  uint64_t conversations() const;
  // The "conversations" object of summary.json (docs/cli.md): totals, greeting, response times,
  // scores, checks, per agent / shop / day, the worst conversations. One JSON object.
  std::string ToJson() const;
  // Per-agent figures for an agent table: {"conversations", "mean_score", "greeting": {"checked",
  // "ok"}, "first_response": {"count", "within", "mean_s"}, "replies": {...}}; "{}" when the agent
  // primarily handled no conversation. `agent` "" is the unknown agent.
  std::string AgentJson(std::string_view agent) const;

 private:
  explicit ConversationSummary(std::unique_ptr<ConversationSummaryImpl> impl);
  std::unique_ptr<ConversationSummaryImpl> impl_;
};

// The quantile `q` (0..1) of `sorted` values as pandas' Series.quantile(q) (linear interpolation,
// NumPy's arithmetic) computes it; 0 for no values.
double Quantile(absl::Span<const double> sorted, double q);

// ---------------------------------------------------------------- a whole audit

// | option          | default | effect                                                   |
// |-----------------|---------|----------------------------------------------------------|
// | close_after     | 5000    | a conversation closes once this many newer conversations have started since its last message |
// | mask            | true    | agent lines of the summary's excerpts are masked (Scanner::Mask); customer lines always are |
// | zone            | UTC     | the day of a conversation                                |
// | summary         | {}      | SummaryOptions                                           |
struct AuditOptions {
  size_t close_after = 5000;
  bool mask = true;
  absl::TimeZone zone = absl::UTCTimeZone();
  SummaryOptions summary;
};

class ConversationAuditImpl;

// Groups a stream of analysed messages into conversations, in input order: the front ends'
// common loop. Memory stays bounded for archives of any size: a conversation is closed (scored,
// passed to on_result, added to the summary) once `close_after` newer conversations have started
// since its last message, or at Finish. A later message of a closed conversation starts a new
// one. Conversations close in the order they started, so for input
// grouped by conversation the results come in input order. Not thread-safe.
class ConversationAudit {
 public:
  // `filter`: masks the summary's excerpts (with its privacy rules and mask.h).
  static absl::StatusOr<ConversationAudit> Create(std::shared_ptr<const Scorecard> scorecard,
                                                  std::shared_ptr<const Filter> filter,
                                                  AuditOptions options = {});
  ConversationAudit(ConversationAudit&&) noexcept;
  ConversationAudit& operator=(ConversationAudit&&) noexcept;
  ~ConversationAudit();

  void Add(std::string_view conversation_id, Turn turn,
           absl::FunctionRef<void(const ConversationResult&)> on_result);
  // Closes every open conversation, in the order they started.
  void Finish(absl::FunctionRef<void(const ConversationResult&)> on_result);

  uint64_t opened() const;  // conversations started (one that continues after closing counts again)
  const ConversationSummary& summary() const;
  ConversationSummary& summary();

 private:
  explicit ConversationAudit(std::unique_ptr<ConversationAuditImpl> impl);
  std::unique_ptr<ConversationAuditImpl> impl_;
};

}  // namespace scriptqa

#endif  // SCRIPTQA_CONVERSATION_H_
