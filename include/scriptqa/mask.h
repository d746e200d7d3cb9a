// scriptqa/mask.h — masking personal data in text that leaves the process.
//
// Reports, audit files, logs and anything shown to people other than the agent who wrote the
// message must not carry a customer's phone, ID, card number or e-mail in clear. Findings are
// precise (a number is a `privacy` finding only when it passes its checksum and context checks);
// masking is deliberately not: it hides every run of digits that *could* be personal data, so an
// ID with a wrong check digit or a phone inside an off-platform finding is masked too.
//
//   std::string shown = scriptqa::MaskPersonalData(message, findings);
//   // "加微信 13812345678 聊" -> "加微信 138****5678 聊"
//
// What is masked:
//   * the byte spans of the `privacy` findings passed in (Scanner::Mask finds them itself);
//   * every run of 7 or more digits — ASCII, full-width, circled (①), dingbat (❶) or Chinese
//     numerals (〇零一二三四五六七八九幺两, 壹贰叁肆伍陆柒捌玖) — optionally ending in X (an ID
//     number); groups of 3 or more digits joined by one separator (space, '-', '.', '·', '/',
//     ideographic or no-break space) count as one run (138 1234 5678, 6222-0202-0011-2233), as
//     do single digits each followed by one separator (1 3 8 1 2 3 4 5 6 7 8). Dates and times
//     (2024-05-01 10:00) are not runs: their groups are shorter than 3;
//   * the local part of every e-mail address (zhangsan1988@qq.com -> z**********8@qq.com).
// Inside a masked range the identifying characters (the digits above and ASCII or full-width
// letters) become '*' ('＊' for a three-byte character), keeping the first 3 and last 4 when there
// are at least 11, the first and the last when there are 4–10, none otherwise. Everything else
// (Chinese text, punctuation) is kept.
//
// Offsets: masking never changes the byte length or the code-point count of the text, so every
// byte and character span of a finding is valid in the masked text as well. `masked.substr(
// f.bytes.begin, f.bytes.size())` is the masked form of a finding's matched text, whatever its
// category.
//
// Thread safety: these are pure functions. Invalid UTF-8 is kept as it is (never masked, never
// read past the end).
#ifndef SCRIPTQA_MASK_H_
#define SCRIPTQA_MASK_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"
#include "scriptqa/types.h"

namespace scriptqa {

// The category whose findings are personal data and are always masked: "privacy".
inline constexpr std::string_view kPersonalDataCategory = "privacy";

// The byte ranges MaskPersonalData masks on its own (digit runs and e-mail local parts), in
// order, not overlapping.
SCRIPTQA_API std::vector<Span> PersonalDataSpans(std::string_view text);

// Masks, in place, the ranges of PersonalDataSpans(*text) and the byte ranges `spans` (ranges
// outside the text are ignored).
SCRIPTQA_API void MaskPersonalDataInPlace(std::string* text, absl::Span<const Span> spans = {});

// `text` with the ranges of PersonalDataSpans and of the `privacy` findings among `findings`
// masked. The findings must be findings of `text`.
SCRIPTQA_API std::string MaskPersonalData(std::string_view text, absl::Span<const Finding> findings = {});

}  // namespace scriptqa

#endif  // SCRIPTQA_MASK_H_
