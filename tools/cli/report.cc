#include "report.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace scriptqa::cli {

namespace {

using json = nlohmann::ordered_json;

constexpr const char* kSeverities[] = {"block", "review", "advice"};
constexpr const char* kSeverityColor[] = {"#c92a2a", "#e8590c", "#1971c2"};

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

uint64_t U(const json& j) { return j.get<uint64_t>(); }

std::string Pct(double x) { return absl::StrFormat("%.1f%%", 100 * x); }
std::string Pct(uint64_t num, uint64_t den) {
  return den == 0 ? std::string("–") : Pct(static_cast<double>(num) / den);
}

int SeverityRank(std::string_view s) { return s == "block" ? 0 : s == "review" ? 1 : 2; }

constexpr char kStyle[] = R"(
:root{--block:#c92a2a;--review:#e8590c;--advice:#1971c2;--ink:#212529;--muted:#6c757d;--line:#dee2e6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 "Noto Sans CJK SC","Noto Sans SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif;color:var(--ink);background:#f8f9fa}
header{background:#1b2a41;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#ced4da;font-size:13px}
main{max-width:1180px;margin:0 auto;padding:20px 32px 48px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
h2{font-size:17px;margin:0 0 12px}
.alert{border:2px solid #c0392b;background:#fdecea;border-radius:8px;padding:8px 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .v{font-size:24px;font-weight:700}
.card .k{color:var(--muted);font-size:12px}
.card.bad .v{color:var(--block)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px}
.sev.block{background:var(--block)}.sev.review{background:var(--review)}.sev.advice{background:var(--advice)}
mark{border-radius:3px;padding:0 1px}
mark.block{background:#ffc9c9;box-shadow:inset 0 -2px var(--block)}
mark.review{background:#ffe8cc;box-shadow:inset 0 -2px var(--review)}
mark.advice{background:#d0ebff;box-shadow:inset 0 -2px var(--advice)}
.example{border-top:1px solid var(--line);padding:10px 0}
.example:first-of-type{border-top:0}
.msg{font-size:15px;margin:2px 0 6px}
.meta{color:var(--muted);font-size:12px}
.fix{margin:2px 0 2px 12px;font-size:13px}
.fix .arrow{color:var(--muted)}
.fix .sugg{color:#2b8a3e}
.reason{color:var(--muted);font-size:12px;margin-left:12px}
.note{background:#fff9db;border:1px solid #ffe066;border-radius:6px;padding:8px 12px}
.legend span{margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.conversation{border-top:1px solid var(--line);padding:10px 0}
.deductions{margin:2px 0 6px;padding-left:20px;font-size:13px;color:#862e2e}
.excerpt{background:#f8f9fa;border-radius:6px;padding:6px 10px;font-size:13px}
.excerpt .who{color:var(--muted);font-size:12px;display:inline-block;min-width:56px}
.excerpt .agent .who{color:#1971c2}
@media (max-width:800px){.grid2{grid-template-columns:1fr}}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
)";

std::string Legend() {
  std::string s = "<div class=\"legend\">";
  for (int i = 0; i < 3; ++i)
    absl::StrAppend(&s, "<span><i style=\"background:", kSeverityColor[i], "\"></i>",
                    kSeverities[i], "</span>");
  return s + "</div>";
}

// Horizontal stacked bars: one row per label, one segment per severity.
std::string StackedBars(const char* id, const std::vector<std::pair<std::string, std::array<uint64_t, 3>>>& rows) {
  const int label_w = 170, bar_w = 380, row_h = 26, width = label_w + bar_w + 60;
  uint64_t max = 1;
  for (const auto& r : rows) max = std::max<uint64_t>(max, r.second[0] + r.second[1] + r.second[2]);
  int height = std::max<int>(1, static_cast<int>(rows.size())) * row_h + 8;
  std::string s = absl::StrFormat(
      "<svg id=\"%s\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
      "width=\"%d\" height=\"%d\" font-size=\"12\">",
      id, width, height, width, height);
  int y = 4;
  for (const auto& [label, v] : rows) {
    absl::StrAppend(&s, "<text x=\"", label_w - 8, "\" y=\"", y + 16,
                    "\" text-anchor=\"end\" fill=\"#495057\">", Esc(label), "</text>");
    double x = label_w;
    uint64_t total = 0;
    for (int i = 0; i < 3; ++i) {
      if (v[i] == 0) continue;
      double w = static_cast<double>(v[i]) / max * bar_w;
      absl::StrAppend(&s, absl::StrFormat(
                              "<rect class=\"bar %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                              "height=\"18\" fill=\"%s\"><title>%s %s: %d</title></rect>",
                              kSeverities[i], x, y + 3, std::max(w, 1.5), kSeverityColor[i],
                              Esc(label), kSeverities[i], v[i]));
      x += w;
      total += v[i];
    }
    absl::StrAppend(&s, absl::StrFormat("<text x=\"%.1f\" y=\"%d\" fill=\"#212529\">%d</text>",
                                        x + 6, y + 16, total));
    y += row_h;
  }
  return s + "</svg>";
}

// A donut of the severities.
std::string SeverityDonut(const json& by_sev) {
  uint64_t v[3] = {U(by_sev["block"]), U(by_sev["review"]), U(by_sev["advice"])};
  uint64_t total = v[0] + v[1] + v[2];
  const double r = 52, c = 2 * 3.14159265358979 * r;
  std::string s =
      "<svg id=\"by-severity\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" "
      "viewBox=\"0 0 300 140\" width=\"300\" height=\"140\" font-size=\"12\">"
      "<circle cx=\"70\" cy=\"70\" r=\"52\" fill=\"none\" stroke=\"#e9ecef\" stroke-width=\"22\"/>";
  double offset = 0;
  for (int i = 0; i < 3 && total > 0; ++i) {
    if (v[i] == 0) continue;
    double len = c * v[i] / total;
    absl::StrAppend(&s, absl::StrFormat(
                            "<circle class=\"slice %s\" cx=\"70\" cy=\"70\" r=\"52\" fill=\"none\" "
                            "stroke=\"%s\" stroke-width=\"22\" stroke-dasharray=\"%.2f %.2f\" "
                            "stroke-dashoffset=\"%.2f\" transform=\"rotate(-90 70 70)\"/>",
                            kSeverities[i], kSeverityColor[i], len, c - len, -offset));
    offset += len;
  }
  absl::StrAppend(&s, "<text x=\"70\" y=\"76\" text-anchor=\"middle\" font-size=\"18\" "
                      "font-weight=\"700\">", total, "</text>");
  for (int i = 0; i < 3; ++i)
    absl::StrAppend(&s, absl::StrFormat("<rect x=\"150\" y=\"%d\" width=\"12\" height=\"12\" "
                                        "fill=\"%s\"/><text x=\"168\" y=\"%d\">%s %d</text>",
                                        34 + i * 26, kSeverityColor[i], 44 + i * 26,
                                        kSeverities[i], v[i]));
  return s + "</svg>";
}

// A bar "within the limit / over" for a timing metric.
std::string SlaBar(uint64_t within, uint64_t count) {
  const int w = 160;
  double frac = count == 0 ? 0 : static_cast<double>(within) / count;
  return absl::StrFormat(
      "<svg class=\"sla\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"12\">"
      "<rect width=\"%d\" height=\"12\" fill=\"#ffe3e3\"/><rect width=\"%.1f\" height=\"12\" "
      "fill=\"#2f9e44\"/></svg>",
      w, w, frac * w);
}

// The message with the findings' byte spans marked.
std::string Highlighted(const std::string& text, const json& findings) {
  std::vector<int> cover(text.size(), 3);
  for (const json& f : findings) {
    size_t b = U(f["byte_start"]), e = std::min<size_t>(U(f["byte_end"]), text.size());
    int rank = SeverityRank(f["severity"].get<std::string>());
    for (size_t i = b; i < e; ++i) cover[i] = std::min(cover[i], rank);
  }
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && cover[j] == cover[i]) ++j;
    std::string part = Esc(std::string_view(text).substr(i, j - i));
    if (cover[i] < 3)
      absl::StrAppend(&out, "<mark class=\"", kSeverities[cover[i]], "\">", part, "</mark>");
    else
      out += part;
    i = j;
  }
  return out;
}

std::string Card(const std::string& value, const std::string& key, bool bad = false) {
  return absl::StrCat("<div class=\"card", bad ? " bad" : "", "\"><div class=\"v\">", Esc(value),
                      "</div><div class=\"k\">", Esc(key), "</div></div>");
}

// A number that may be null (no data): "–". One decimal, or as short as it reads (`general`).
std::string Num(const json& j, bool general = false) {
  if (!j.is_number()) return "–";
  return general ? absl::StrFormat("%g", j.get<double>()) : absl::StrFormat("%.1f", j.get<double>());
}
std::string Seconds(const json& j) { return j.is_number() ? absl::StrFormat("%.1f s", j.get<double>()) : "–"; }
std::string Name(const json& j) { return j.is_string() ? j.get<std::string>() : "(unknown)"; }

// Vertical bars: the score distribution, one bar per band of ten points.
std::string ScoreBars(const json& distribution) {
  const int w = 560, h = 170, base = 140, bar = 44, gap = 12;
  uint64_t max = 1;
  for (const json& d : distribution) max = std::max<uint64_t>(max, U(d["count"]));
  std::string s = absl::StrFormat(
      "<svg id=\"score-distribution\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
      "width=\"%d\" height=\"%d\" font-size=\"11\">",
      w, h, w, h);
  int x = 8;
  for (const json& d : distribution) {
    uint64_t c = U(d["count"]);
    int from = d["from"].get<int>();
    double bh = c == 0 ? 0 : std::max(2.0, 120.0 * c / max);
    const char* color = from < 60 ? "#c92a2a" : from < 80 ? "#e8590c" : "#2f9e44";
    absl::StrAppend(&s, absl::StrFormat("<rect class=\"score-bar\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
                                        "fill=\"%s\"><title>%d–%d: %d</title></rect>",
                                        x, base - bh, bar, bh, color, from, d["to"].get<int>(), c));
    absl::StrAppend(&s, absl::StrFormat("<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">%d</text>", x + bar / 2,
                                        base - bh - 4, c));
    absl::StrAppend(&s, absl::StrFormat("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#6c757d\">%d–%d</text>",
                                        x + bar / 2, base + 16, from, d["to"].get<int>()));
    x += bar + gap;
  }
  return s + "</svg>";
}

// The mean score per day, as bars with the number of conversations.
std::string DayTrend(const json& days) {
  const int bar = 36, gap = 10, base = 150;
  int w = std::max<int>(200, static_cast<int>(days.size()) * (bar + gap) + 16), h = 190;
  std::string s = absl::StrFormat(
      "<svg id=\"trend-by-day\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
      "width=\"%d\" height=\"%d\" font-size=\"11\">",
      w, h, w, h);
  int x = 8;
  for (const json& d : days) {
    double mean = d["mean_score"].is_number() ? d["mean_score"].get<double>() : 0;
    double bh = 1.3 * mean;
    absl::StrAppend(&s, absl::StrFormat("<rect class=\"day-bar\" x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" "
                                        "fill=\"#1971c2\"><title>%s: mean %.1f, %d conversations</title></rect>",
                                        x, base - bh, bar, bh, Esc(Name(d["day"])), mean, U(d["conversations"])));
    absl::StrAppend(&s, absl::StrFormat("<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>", x + bar / 2,
                                        base - bh - 4, mean));
    std::string day = Name(d["day"]);
    absl::StrAppend(&s, absl::StrFormat("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#6c757d\">%s</text>",
                                        x + bar / 2, base + 16, Esc(day.size() == 10 ? day.substr(5) : day)));
    x += bar + gap;
  }
  return s + "</svg>";
}

// A table of groups (agents or shops) ranked by mean score, with their worst checks.
std::string GroupTable(const json& groups, const char* key, const char* label) {
  std::string h = absl::StrCat("<table><tr><th>", label, "</th><th class=\"n\">conversations</th>"
                               "<th class=\"n\">mean score</th><th class=\"n\">median</th><th class=\"n\">p10</th>"
                               "<th>worst checks (failed · points)</th></tr>");
  for (const json& g : groups) {
    std::vector<std::string> worst;
    for (const json& c : g["worst_checks"])
      worst.push_back(absl::StrCat(c["check"].get<std::string>(), " (", U(c["failed"]), " · ",
                                   c["points"].get<int64_t>(), ")"));
    absl::StrAppend(&h, "<tr><td>", Esc(Name(g[key])), "</td><td class=\"n\">", U(g["conversations"]),
                    "</td><td class=\"n\">", Num(g["mean_score"]), "</td><td class=\"n\">",
                    Num(g["median_score"], true), "</td><td class=\"n\">", Num(g["p10_score"], true), "</td><td>",
                    worst.empty() ? "–" : Esc(absl::StrJoin(worst, ", ")), "</td></tr>");
  }
  return h + "</table>";
}

}  // namespace

std::string RenderReport(const json& s) {
  const json& rec = s["records"];
  const json& f = s["findings"];
  const json& conv = s["conversations"];
  const bool timing = conv["timing_available"].get<bool>();
  const bool scanned = U(rec["agent"]) > 0;  // rates over no message are no figures
  std::string h;
  h.reserve(64 << 10);
  h += "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
       "<title>scriptqa 质检报告 · audit report</title><style>";
  h += kStyle;
  h += "</style></head><body>\n<header><h1>客服话术质检报告 · scriptqa audit report</h1><p>";
  std::vector<std::string> inputs;
  for (const json& in : s["inputs"])
    inputs.push_back(absl::StrCat(in["path"].get<std::string>(), " (", U(in["records"]), ")"));
  absl::StrAppend(&h, "Inputs: ", Esc(absl::StrJoin(inputs, ", ")), " · rules: ",
                  U(s["rules"]["count"]), " (", Esc(s["rules"]["source"].get<std::string>()),
                  ", hash ", Esc(s["rules"]["hash"].get<std::string>()), ") · scorecard: ",
                  Esc(conv["scorecard"]["source"].get<std::string>()), " · personal data ",
                  s["settings"]["masked"].get<bool>() ? "masked" : "NOT masked (--no-mask)",
                  "</p></header>\n<main>\n");
  // An input that could not be read, or an audit that scanned nothing (every record malformed,
  // no agent role), is said first: its zero findings are not a clean result.
  if (!s["fatal"].empty() || !scanned) {
    h += "<section id=\"problems-first\" class=\"alert\"><h2>This audit is incomplete · "
         "本次质检不完整</h2><ul>";
    for (const json& m : s["fatal"]) absl::StrAppend(&h, "<li>", Esc(m.get<std::string>()), "</li>");
    if (!scanned)
      absl::StrAppend(&h, "<li>No agent message was scanned (", U(rec["total"]), " records, ",
                      U(rec["errors"]), " malformed): the figures below are not rates. "
                      "没有扫描到任何客服消息，以下数字不是违规率。</li>");
    h += "</ul></section>\n";
  }

  // Key figures.
  auto rate = [&](const json& x) { return scanned ? Pct(x.get<double>()) : std::string("–"); };
  h += "<section id=\"overview\"><h2>Overview · 总览</h2><div class=\"cards\">";
  h += Card(absl::StrCat(U(rec["total"])), "records · 记录");
  h += Card(absl::StrCat(U(rec["agent"])), "agent messages scanned · 客服消息", !scanned);
  if (U(rec["errors"]) > 0)
    h += Card(absl::StrCat(U(rec["errors"])), "malformed records · 异常记录", true);
  h += Card(absl::StrCat(U(f["total"])), "findings · 问题", U(f["total"]) > 0);
  h += Card(rate(f["serious_rate"]), "block + review messages · 严重违规率",
            scanned && f["serious_rate"].get<double>() > 0.01);
  h += Card(rate(f["advice_only_rate"]), "advice only · 仅话术提示");
  h += Card(scanned ? absl::StrFormat("%.1f", f["per_100_messages"].get<double>()) : "–",
            "findings per 100 messages · 每百条");
  h += Card(absl::StrCat(U(f["by_severity"]["block"])), "block · 必须拦截",
            U(f["by_severity"]["block"]) > 0);
  h += Card(absl::StrCat(U(f["deflection"])), "deflection · 推诿");
  h += Card(absl::StrCat(U(f["ad_law"])), "ad-law terms · 极限词");
  h += Card(absl::StrCat(U(conv["total"])), "conversations · 会话");
  h += Card(Num(conv["score"]["mean"]), "mean score · 平均分");
  h += Card(Pct(U(conv["greeting"]["ok"]), U(conv["greeting"]["checked"])),
            "identity greeting · 首句问候");
  if (timing) {
    h += Card(Pct(U(conv["first_response"]["within"]), U(conv["first_response"]["count"])),
              absl::StrFormat("first response ≤ %gs · 首响达标", conv["first_response"]["limit_s"].get<double>()));
    h += Card(Pct(U(conv["replies"]["within"]), U(conv["replies"]["count"])),
              absl::StrFormat("replies ≤ %gs · 回复达标", conv["replies"]["limit_s"].get<double>()));
  }
  h += "</div></section>\n";

  // Conversation scores.
  const json& score = conv["score"];
  h += "<section id=\"scores\"><h2>Conversation scores · 会话评分</h2>";
  if (U(conv["total"]) == 0) {
    h += "<p>No conversation was scored.</p>";
  } else {
    absl::StrAppend(&h, "<p>", U(conv["total"]), " conversations scored against ",
                    Esc(conv["scorecard"]["title"].get<std::string>()),
                    ". Score: mean ", Num(score["mean"]), ", median ", Num(score["median"], true),
                    ", p10 ", Num(score["p10"], true), ", p90 ", Num(score["p90"], true), ", lowest ",
                    Num(score["min"], true),
                    " (percentiles as pandas' quantile computes them: linear interpolation).</p>");
    h += "<div class=\"grid2\"><div>";
    h += ScoreBars(score["distribution"]);
    h += "</div><div><table id=\"checks\"><tr><th>check</th><th class=\"n\">applicable</th>"
         "<th class=\"n\">failed</th><th class=\"n\">rate</th><th class=\"n\">points</th></tr>";
    for (const json& c : conv["checks"]) {
      if (!c["enabled"].get<bool>()) {
        absl::StrAppend(&h, "<tr><td>", Esc(c["check"].get<std::string>()),
                        "</td><td class=\"n\" colspan=\"4\">off</td></tr>");
        continue;
      }
      absl::StrAppend(&h, "<tr><td>", Esc(c["check"].get<std::string>()), "</td><td class=\"n\">",
                      U(c["applicable"]), "</td><td class=\"n\">", U(c["failed"]), "</td><td class=\"n\">",
                      Pct(U(c["failed"]), U(c["applicable"])), "</td><td class=\"n\">",
                      c["points"].get<int64_t>(), "</td></tr>");
    }
    h += "</table></div></div>";
    absl::StrAppend(&h, "<p>Follow-up promises with a time: ", U(conv["promises"]),
                    " (listed per conversation in conversations.jsonl).</p>");
  }
  h += "</section>\n";

  // Agents ranked by score, shops, days.
  h += "<section id=\"agents-by-score\"><h2>Agents by score · 客服评分排名</h2>";
  h += conv["by_agent"].empty() ? "<p>No conversation was scored.</p>"
                                 : GroupTable(conv["by_agent"], "agent", "agent");
  h += "</section>\n<section id=\"shops\"><h2>Shops · 店铺</h2>";
  h += conv["by_shop"].empty() ? "<p>No conversation was scored.</p>" : GroupTable(conv["by_shop"], "shop", "shop");
  h += "</section>\n";
  if (!conv["by_day"].empty()) {
    h += "<section id=\"days\"><h2>Trend by day · 按日趋势</h2>";
    h += DayTrend(conv["by_day"]);
    h += GroupTable(conv["by_day"], "day", "day");
    h += "</section>\n";
  }

  // The worst conversations, with their deductions and a masked excerpt.
  h += "<section id=\"worst\"><h2>Lowest-scoring conversations · 低分会话</h2>";
  if (conv["worst"].empty()) h += "<p>No conversation was scored.</p>";
  for (const json& w : conv["worst"]) {
    absl::StrAppend(&h, "<div class=\"conversation\"><div class=\"meta\">conversation ",
                    Esc(w["conversation_id"].get<std::string>()), " · agent ", Esc(Name(w["agent_id"])),
                    " · shop ", Esc(Name(w["shop_id"])), w["day"].is_string() ? " · " + Esc(w["day"].get<std::string>()) : "",
                    "</div><div class=\"msg\">score <b>", w["score"].get<int>(), "</b></div><ul class=\"deductions\">");
    for (const json& d : w["deductions"])
      absl::StrAppend(&h, "<li>−", d["points"].get<int>(), " ", Esc(d["check"].get<std::string>()), ", turn ",
                      d["turn"].get<int64_t>(), ": ", Esc(d["detail"].get<std::string>()), "</li>");
    h += "</ul><div class=\"excerpt\">";
    for (const json& l : w["excerpt"])
      absl::StrAppend(&h, "<div class=\"line ", Esc(l["role"].get<std::string>()), "\"><span class=\"who\">",
                      l["turn"].get<int64_t>(), " ", l["role"].get<std::string>() == "agent" ? "客服" : "顾客",
                      "</span> ", Esc(l["text"].get<std::string>()), "</div>");
    h += "</div></div>";
  }
  h += "</section>\n";

  // Charts.
  std::vector<std::pair<std::string, std::array<uint64_t, 3>>> rows;
  for (const json& c : f["by_category"])
    rows.push_back({c["category"].get<std::string>(),
                    {U(c["block"]), U(c["review"]), U(c["advice"])}});
  h += "<div class=\"grid2\"><section><h2>Findings by category · 按类别</h2>";
  h += StackedBars("by-category", rows);
  h += Legend();
  h += "</section><section><h2>By severity · 按严重度</h2>";
  h += SeverityDonut(f["by_severity"]);
  h += "</section></div>\n";

  // Agents' messages.
  h += "<section id=\"agents\"><h2>By agent · 按客服</h2><table><tr><th>agent</th>"
       "<th class=\"n\">messages</th><th class=\"n\">block+review</th><th class=\"n\">rate</th>"
       "<th class=\"n\">with findings</th><th class=\"n\">per 100</th><th class=\"n\">deflection</th>"
       "<th class=\"n\">ad-law</th><th class=\"n\">greeting</th><th>first response</th><th>replies</th></tr>";
  for (const json& a : s["agents"]) {
    auto sla = [&](const json& t) {
      if (!timing) return std::string("–");
      return absl::StrCat(SlaBar(U(t["within"]), U(t["count"])), " ", U(t["within"]), "/",
                          U(t["count"]));
    };
    absl::StrAppend(&h, "<tr><td>", Esc(a["agent"].get<std::string>()), "</td><td class=\"n\">",
                    U(a["messages"]), "</td><td class=\"n\">", U(a["serious_messages"]),
                    "</td><td class=\"n\">", Pct(a["serious_rate"].get<double>()),
                    "</td><td class=\"n\">", U(a["flagged_messages"]), "</td><td class=\"n\">",
                    absl::StrFormat("%.1f", a["per_100_messages"].get<double>()),
                    "</td><td class=\"n\">", U(a["deflection"]), "</td><td class=\"n\">",
                    U(a["ad_law"]), "</td><td class=\"n\">", U(a["greeting"]["ok"]), "/",
                    U(a["greeting"]["checked"]), "</td><td>", sla(a["first_response"]),
                    "</td><td>", sla(a["replies"]), "</td></tr>");
  }
  h += "</table></section>\n";

  // Service standard.
  h += "<section id=\"timing\"><h2>Service standard · 服务标准</h2>";
  if (timing) {
    auto line = [&](const char* name, const json& t) {
      return absl::StrFormat(
          "<tr><td>%s</td><td class=\"n\">≤ %g s</td><td>%s</td><td class=\"n\">%d/%d (%s)</td>"
          "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>",
          name, t["limit_s"].get<double>(), SlaBar(U(t["within"]), U(t["count"])), U(t["within"]),
          U(t["count"]), Pct(U(t["within"]), U(t["count"])), Seconds(t["mean_s"]), Seconds(t["median_s"]),
          Seconds(t["p90_s"]));
    };
    h += "<table><tr><th>metric</th><th class=\"n\">limit</th><th></th><th class=\"n\">within</th>"
         "<th class=\"n\">mean</th><th class=\"n\">median</th><th class=\"n\">p90</th></tr>";
    h += line("first response · 首次响应", conv["first_response"]);
    h += line("each later reply · 后续回复", conv["replies"]);
    h += "</table>";
    absl::StrAppend(&h, "<p class=\"meta\">The reply limit is ", Num(conv["replies"]["promo_limit_s"], true),
                    " s on promotion days. Median and p90 interpolate linearly between the measured waits, "
                    "as pandas does.</p>");
  } else {
    absl::StrAppend(&h, "<p class=\"note\" id=\"no-timestamps\">Response-time metrics were not "
                        "computed: ",
                    Esc(conv["timing_note"].get<std::string>()),
                    ". 输入没有时间戳，未计算响应时长指标。</p>");
  }
  absl::StrAppend(&h, "<p>Identity greeting in the first agent reply (您好/你好 + 我是/客服…): ",
                  U(conv["greeting"]["ok"]), " of ", U(conv["greeting"]["checked"]),
                  " conversations (", Pct(U(conv["greeting"]["ok"]), U(conv["greeting"]["checked"])),
                  ").</p></section>\n");

  // Top rules.
  h += "<section id=\"rules\"><h2>Top rules · 高频规则</h2><table><tr><th>rule</th>"
       "<th>severity</th><th class=\"n\">findings</th><th>reason</th></tr>";
  for (const json& r : f["top_rules"]) {
    std::string sev = r["severity"].get<std::string>();
    absl::StrAppend(&h, "<tr><td>", Esc(r["rule"].get<std::string>()), "</td><td><span class=\"sev ",
                    sev, "\">", sev, "</span></td><td class=\"n\">", U(r["count"]), "</td><td>",
                    Esc(r["reason"].get<std::string>()), "</td></tr>");
  }
  h += "</table></section>\n";

  // Examples, the most severe first.
  h += "<section id=\"examples\"><h2>Examples, most severe first · 违规示例</h2>";
  if (s["examples"].empty()) h += "<p>No findings.</p>";
  for (const json& e : s["examples"]) {
    absl::StrAppend(&h, "<div class=\"example\"><div class=\"meta\">",
                    Esc(e["file"].get<std::string>()), ":", U(e["line"]), " · conversation ",
                    Esc(e["conversation_id"].get<std::string>()), " · agent ",
                    Esc(e["agent"].get<std::string>()), "</div><div class=\"msg\">",
                    Highlighted(e["text"].get<std::string>(), e["findings"]), "</div>");
    for (const json& fd : e["findings"]) {
      std::string sev = fd["severity"].get<std::string>();
      absl::StrAppend(&h, "<div class=\"fix\"><span class=\"sev ", sev, "\">", sev, "</span> ",
                      Esc(fd["rule"].get<std::string>()), " <q>", Esc(fd["matched"].get<std::string>()),
                      "</q> <span class=\"arrow\">→</span> <span class=\"sugg\">",
                      Esc(fd["suggestion"].get<std::string>()), "</span></div><div class=\"reason\">",
                      Esc(fd["reason"].get<std::string>()), "</div>");
    }
    h += "</div>";
  }
  h += "</section>\n";

  // Problems.
  if (!s["problems"].empty()) {
    h += "<section id=\"problems\"><h2>Input problems · 输入问题</h2><table><tr><th>where</th>"
         "<th>problem</th></tr>";
    for (const json& p : s["problems"])
      absl::StrAppend(&h, "<tr><td>", Esc(p["file"].get<std::string>()), ":", U(p["line"]),
                      "</td><td>", Esc(p["message"].get<std::string>()), "</td></tr>");
    h += "</table></section>\n";
  }
  absl::StrAppend(&h, "</main><footer>scriptqa ", Esc(s["version"].get<std::string>()),
                  " · engine ", Esc(s["rules"]["engine"].get<std::string>()),
                  "</footer></body></html>\n");
  return h;
}

}  // namespace scriptqa::cli
