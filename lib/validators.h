// Checks of matched digits: phone prefixes, ID-card check digits, Luhn.
#ifndef SCRIPTQA_LIB_VALIDATORS_H_
#define SCRIPTQA_LIB_VALIDATORS_H_

#include <string>
#include <string_view>

#include "scriptqa/types.h"

namespace scriptqa::internal {

// The value 0–9 of a digit in any style scriptqa reads (ASCII, full width, Chinese numerals
// 〇零一二三四五六七八九幺两), or -1.
int DigitValue(char32_t c);

// The digits of `text` as ASCII ('x' kept for ID cards); other characters are dropped.
std::string DigitsOf(std::string_view text);

// True when `normalized_match` passes the validator.
bool Validate(Validator v, std::string_view normalized_match);

}  // namespace scriptqa::internal

#endif  // SCRIPTQA_LIB_VALIDATORS_H_
