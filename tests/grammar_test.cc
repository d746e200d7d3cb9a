// The rule language's grammar layer (docs/dictionary-format.md): word classes, variant tables,
// companions and exemptions in a scope, and the speech acts of the base grammar, through the
// public API (Filter, Scanner, Explain).
#include <gtest/gtest.h>

#include <algorithm>

#include "scriptqa/filter.h"
#include "scriptqa/scanner.h"

namespace scriptqa {
namespace {


// tests/testdata/grammar.rules: one rule for each feature (also used by the stream tests).
const std::string kRulesPath = std::string(SCRIPTQA_TESTDATA_DIR) + "/grammar.rules";

std::shared_ptr<const Filter> GrammarFilter() {
  static const std::shared_ptr<const Filter> filter = [] {
    auto f = Filter::FromFiles({kRulesPath});
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? *f : nullptr;
  }();
  return filter;
}

// "rule:matched" of each finding.
std::vector<std::string> Found(std::string_view text) {
  auto scanner = Scanner::Create(GrammarFilter());
  EXPECT_TRUE(scanner.ok());
  auto findings = scanner->Scan(text);
  EXPECT_TRUE(findings.ok()) << findings.status();
  std::vector<std::string> out;
  for (const Finding& f : *findings) out.push_back(std::string(f.rule_id()) + ":" + std::string(f.text));
  return out;
}

// The decision and detail of the first trace of `rule`.
std::string Why(std::string_view text, std::string_view rule) {
  auto scanner = Scanner::Create(GrammarFilter());
  auto e = scanner->Explain(text);
  EXPECT_TRUE(e.ok()) << e.status();
  for (const Trace& t : e->traces)
    if (t.rule->id == rule) return std::string(DecisionName(t.decision)) + " " + t.detail;
  return "no hit";
}

using V = std::vector<std::string>;

TEST(WordClasses, ExpandInLiteralsAndRegexesAsCrossProducts) {
  EXPECT_EQ(Found("这款最显瘦"), V{"t.zui:最显瘦"});
  EXPECT_EQ(Found("我们是全省冠军"), V{"t.rank:全省冠军"});
  EXPECT_EQ(Found("同类第一"), V{"t.rank:同类第一"});
  EXPECT_EQ(Found("全国第二"), V{});
  EXPECT_EQ(Found("它是耐磨的"), V{"t.re:它是耐磨的"});
  const Rule* rank = GrammarFilter()->FindRule("t.rank");
  ASSERT_NE(rank, nullptr);
  EXPECT_EQ(rank->literals.size(), 12u) << "4 scopes x 3 ranks";
}

TEST(WordClasses, AChineseCharacterBeforeAQuestionMarkIsOptional) {
  auto f = Filter::FromDictionaries({DictionarySource::Text("o.rules", R"(%format scriptqa-rules 1
%class 我们 = 我们 | 店里
rule o.a
  category deflection
  severity review
  literal 不关{我们}的?事
  reason r
)")});
  ASSERT_TRUE(f.ok()) << f.status();
  const Rule* r = (*f)->FindRule("o.a");
  ASSERT_NE(r, nullptr);
  std::vector<std::string> lits = r->literals;
  std::sort(lits.begin(), lits.end());
  EXPECT_EQ(lits, (std::vector<std::string>{"不关店里事", "不关店里的事", "不关我们事", "不关我们的事"}));
  auto scanner = Scanner::Create(*f);
  ASSERT_TRUE(scanner.ok());
  auto found = scanner->Scan("蜂蜜结晶是你放冰箱放的，不关我们事");
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].text, "不关我们事");
}

TEST(SpeechActs, ANameInTitleMarksIsNoClaim) {
  auto f = Filter::FromDictionaries({DictionarySource::Text("t.rules", R"(%format scriptqa-rules 1
rule t.ace
  category ad_law
  severity review
  literal 王牌 | 最强
  speech-acts title
  reason r
)")});
  ASSERT_TRUE(f.ok()) << f.status();
  auto scanner = Scanner::Create(*f);
  ASSERT_TRUE(scanner.ok());
  auto titled = scanner->Scan("您是看了《王牌对王牌》节目来问的吧？这款是无硅油配方");
  ASSERT_TRUE(titled.ok());
  EXPECT_TRUE(titled->empty());
  auto e = scanner->Explain("您是看了《王牌对王牌》节目来问的吧");
  ASSERT_TRUE(e.ok());
  ASSERT_FALSE(e->traces.empty());
  EXPECT_EQ(e->traces[0].decision, Decision::kSpeechAct);
  EXPECT_NE(e->traces[0].detail.find("speech act title"), std::string::npos) << e->traces[0].detail;
  // Outside the marks, or in quotation marks, the words are a claim.
  auto plain = scanner->Scan("这款是同类里的王牌，《使用手册》里有说明");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->size(), 1u);
  auto quoted = scanner->Scan("这款就是“最强”的那款");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->size(), 1u);
  // A title act takes no cues.
  auto bad = Filter::Validate({DictionarySource::Text("b.rules", R"(%format scriptqa-rules 1
%speech-act named title sentence = 节目
rule b.a
  category ad_law
  severity review
  literal 王牌
  reason r
)")});
  EXPECT_NE(std::string(bad.message()).find("a title speech act takes no cues"), std::string::npos)
      << bad;
}

TEST(WordClasses, ErrorsNameTheLine) {
  auto unknown = Filter::Validate({DictionarySource::Text("u.rules", R"(%format scriptqa-rules 1
rule u.a
  category ad_law
  severity review
  literal 最{没有这类}
  reason r
)")});
  EXPECT_NE(std::string(unknown.message()).find("u.rules:5: rule u.a: unknown word class '{没有这类}'"),
            std::string::npos)
      << unknown;
  auto twice = Filter::Validate({DictionarySource::Text("d.rules", R"(%format scriptqa-rules 1
%class 甲 = a
%class 甲 = b
rule d.a
  category ad_law
  severity review
  literal 最{甲}
  reason r
)")});
  EXPECT_NE(std::string(twice.message()).find("d.rules:3: word class '甲' is already defined at d.rules:2"),
            std::string::npos)
      << twice;
  // A class used in its own definition is not defined yet: classes cannot recurse.
  auto self = Filter::Validate({DictionarySource::Text("s.rules", R"(%format scriptqa-rules 1
%class 乙 = x | {乙}y
rule s.a
  category ad_law
  severity review
  literal {乙}
  reason r
)")});
  EXPECT_NE(std::string(self.message()).find("s.rules:2: unknown word class '{乙}'"), std::string::npos)
      << self;
  // Expansions are bounded.
  std::string big = "%format scriptqa-rules 1\n%class 十 = 0|1|2|3|4|5|6|7|8|9\n"
                    "rule b.a\n  category ad_law\n  severity review\n"
                    "  literal {十}{十}{十}{十}{十}\n  reason r\n";
  auto masks = Filter::Validate({DictionarySource::Text("m.rules", R"(%format scriptqa-rules 1
rule m.a
  category privacy
  severity block
  regex [a-z]{3}@[a-z]{3}com
  unless-masked ** x
  reason r
)")});
  EXPECT_NE(std::string(masks.message()).find("m.rules:6: rule m.a: unless-masked takes single characters separated by spaces, not '**'"),
            std::string::npos)
      << masks;
  auto path = Filter::Validate({DictionarySource::Text("p.rules", R"(%format scriptqa-rules 1
%speech-act menu path sentence = 点击
)")});
  EXPECT_NE(std::string(path.message()).find("p.rules:2: a path speech act takes no cues"), std::string::npos)
      << path;
  auto over = Filter::Validate({DictionarySource::Text("b.rules", big)});
  EXPECT_NE(std::string(over.message()).find("b.rules:6: rule b.a: '{十}{十}{十}{十}{十}' expands to more than 20000 terms"),
            std::string::npos)
      << over;
}

TEST(Variants, HomophonesAndPinyinOfTheLiterals) {
  for (const char* text : {"这款醉好用", "这款zui好用", "这款 zui hao yong", "这款ZUI HAO YONG",
                           "这款 zuì hǎo yòng", "这款最hao用", "這款醉耐磨"})
    EXPECT_EQ(Found(text).size(), 1u) << text;
  // Companions get the variants too: 好评 in pinyin with a cash-back offer.
  EXPECT_EQ(Found("给个hao ping送您红包"), V{"t.review:hao ping"});
  EXPECT_EQ(Found("给个好平，返现五元"), V{"t.review:好平"});
  EXPECT_EQ(Found("布吉岛哦亲"), V{"t.deflect:布吉岛"});
  // Unknown tables are load errors.
  auto bad = Filter::Validate({DictionarySource::Text("v.rules", R"(%format scriptqa-rules 1
rule v.a
  category ad_law
  severity review
  literal 最好
  variants klingon
  reason r
)")});
  EXPECT_NE(std::string(bad.message()).find("v.rules:6: rule v.a: unknown variant table 'klingon'"),
            std::string::npos)
      << bad;
}

TEST(Companions, BothPartsInEitherOrderWithinTheScope) {
  EXPECT_EQ(Found("给个好评送您红包"), V{"t.review:好评"});
  EXPECT_EQ(Found("送您个红包，记得给好评哦"), V{"t.review:好评"}) << "clause breaks do not end a sentence";
  EXPECT_EQ(Found("给个好评哦，谢谢"), V{});
  EXPECT_EQ(Found("送您红包。给个好评哦"), V{}) << "another sentence";
  EXPECT_EQ(Why("给个好评哦", "t.review"), "missing_context no companion (返现 …) in its sentence");
  // within: the companion must be near.
  EXPECT_EQ(Found("晒图返现"), V{"t.review_near:晒图"});
  EXPECT_EQ(Found("晒图之后等您确认收货再返现"), V{});
  // scope clause: a comma ends it.
  EXPECT_EQ(Found("没办法就这样吧"), V{"t.clause:没办法"});
  EXPECT_EQ(Found("没办法，就这样吧"), V{});
}

TEST(Exemptions, UnlessAnywhereInTheScopeAndUnlessAfterNearTheHit) {
  EXPECT_EQ(Found("这个我不知道"), V{"t.deflect:不知道"});
  EXPECT_EQ(Found("这个我不知道，马上帮您问问仓库"), V{});
  EXPECT_EQ(Why("这个我不知道，马上帮您问问", "t.deflect"), "allow_context unless term '帮您问' after it");
  EXPECT_EQ(Found("最便宜的时间是早上"), V{}) << "a tip noun within 4 characters";
  EXPECT_EQ(Found("最便宜，这个时间下单"), V{"t.zui:最便宜"}) << "not in the same clause";
}

TEST(SpeechActs, EachActSuppressesWithItsCue) {
  struct Case {
    const char* text;
    const char* act;
  } cases[] = {
      {"我们没法保证是最便宜的", "negation"},
      {"这款不是最耐磨的", "negation"},
      {"说最好用是不允许的", "negation"},
      {"凡是好评返现的都是骗子", "warning"},
      {"您说的“最耐磨”我们不敢这么讲", "reported"},
      {"有人让您好评返现吗", "reported"},
      {"“好评返现”这种活动我们不做", "quote"},
      {"最便宜这个词广告法不让用", "meta"},
      {"您是想要最便宜的那款吗？", "question"},
      {"您是最耐磨的客户", "addressee"},
      {"请点击“首页”-“最便宜”-“筛选”查看", "ui_path"},
      {"在「排序」 > 「最便宜」里", "ui_path"},
  };
  for (const Case& c : cases) {
    auto scanner = Scanner::Create(GrammarFilter());
    auto e = scanner->Explain(c.text);
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(e->findings.empty()) << c.text;
    bool named = false;
    for (const Trace& t : e->traces)
      named |= t.decision == Decision::kSpeechAct &&
               t.detail.find(std::string("speech act ") + c.act + ":") == 0;
    EXPECT_TRUE(named) << c.text << " should be suppressed as " << c.act << "\n" << e->ToString();
  }
}

TEST(SpeechActs, PseudoCuesQuestionsAndScopes) {
  // 不错 looks like a negation and is not; nor is a negation in another clause.
  EXPECT_EQ(Found("不错，这款最好用"), V{"t.zui:最好用"});
  EXPECT_EQ(Found("这款不错最好用"), V{"t.zui:最好用"});
  EXPECT_EQ(Found("不用担心，这款是全网最便宜的"), V{"t.zui:最便宜"});
  // A question needs a question: without one the cue is just words.
  EXPECT_EQ(Found("您是想要最便宜的那款"), V{"t.zui:最便宜"});
  EXPECT_EQ(Found("您是想要最便宜的那款吗"), V{});
  // Quotation marks for emphasis are no quoted speech.
  EXPECT_EQ(Found("这款是“最耐磨”的"), V{"t.zui:最耐磨"});
  // A quoted label is an interface path only when a separator joins it to another quoted label.
  EXPECT_EQ(Found("这款“最耐磨”-真的"), V{"t.zui:最耐磨"});
  EXPECT_EQ(Found("“最耐磨”，“最便宜”"), (V{"t.zui:最耐磨", "t.zui:最便宜"}));
  // A rule takes only the acts it names: t.deflect has none.
  EXPECT_EQ(Found("我们不是不知道"), V{"t.deflect:不知道"});
}

TEST(Exemptions, SentenceWindowsResetsAndMaskedForms) {
  // unless-before N sentence: the exemption reaches across a comma, not across a full stop.
  EXPECT_EQ(Found("配送员小刘，电话13812345678"), V{});
  EXPECT_EQ(Found("配送员小刘。电话13812345678"), V{"t.phone:13812345678"});
  // reset-by: the customer named between the exempting word and the number.
  EXPECT_EQ(Found("师傅说打您电话13812345678"), V{"t.phone:13812345678"});
  EXPECT_EQ(Why("师傅说电话13812345678", "t.phone"), "allow_context preceded by unless-before '师傅'");
  // unless-masked: read from the original text, where the normaliser drops the mask.
  EXPECT_EQ(Found("邮箱li***@163.com"), V{});
  EXPECT_EQ(Found("邮箱lina@163.com"), V{"t.email:lina@163.com"});
  EXPECT_EQ(Why("邮箱li＊＊＊@163.com", "t.email"), "allow_context already masked ('＊' in it)");
}

// A literal is read across punctuation used as noise between single characters (最，显瘦), never
// across the end of a sentence: "…最！⏎显瘦…" is two lines and "…最。显瘦…" two sentences, the
// way "您好！⏎评价截图…" and "好。评价截图…" are no 好评.
TEST(ClauseBreaks, NoiseYesSentenceEndsNo) {
  EXPECT_EQ(Found("这款最，显瘦"), V{"t.zui:最，显瘦"});
  EXPECT_EQ(Found("这款最.显瘦"), V{"t.zui:最.显瘦"});
  EXPECT_EQ(Found("这款最！\n显瘦的裤子"), V{});
  EXPECT_EQ(Found("这款最\r\n显瘦的裤子"), V{});
  EXPECT_EQ(Found("这款最。显瘦的裤子"), V{});
  EXPECT_EQ(Found("这款最？显瘦的裤子"), V{});
  // A clause of one character is noise even there.
  EXPECT_EQ(Found("这款。最。显瘦"), V{"t.zui:最。显瘦"});
}

TEST(Grammar, SerializedFiltersKeepIt) {
  auto blob = GrammarFilter()->Serialize();
  ASSERT_TRUE(blob.ok()) << blob.status();
  auto back = Filter::Deserialize(*blob);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->info().rules_hash, GrammarFilter()->info().rules_hash);
  auto a = Scanner::Create(GrammarFilter());
  auto b = Scanner::Create(*back);
  for (const char* text : {"我们没法保证是最便宜的", "给个好评送您红包", "给个好评哦", "这个我不知道，马上帮您问问",
                           "您是想要最便宜的那款吗？", "“好评返现”这种活动我们不做", "这款 zui hao yong",
                           "配送员小刘，电话13812345678", "师傅说打您电话13812345678", "邮箱li***@163.com",
                           "请点击“首页”-“最便宜”"}) {
    auto x = a->Explain(text);
    auto y = b->Explain(text);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->ToString(), y->ToString()) << text;
  }
}

TEST(Grammar, WithoutTheBaseGrammarItsNamesAreUnknown) {
  FilterOptions options;
  options.base_grammar = false;
  auto st = Filter::Validate({DictionarySource::File(kRulesPath)}, options);
  EXPECT_NE(std::string(st.message()).find("unknown speech act 'negation'"), std::string::npos) << st;
}

}  // namespace
}  // namespace scriptqa
