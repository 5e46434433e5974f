package engine

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reasons for a rejected resident ID number or name.
const (
	ReasonIDLength   = "ID_LENGTH"
	ReasonIDChars    = "ID_CHARACTERS"
	ReasonIDLowerX   = "ID_LOWERCASE_X"
	ReasonIDRegion   = "ID_REGION"
	ReasonIDBirth    = "ID_BIRTH_DATE"
	ReasonIDChecksum = "ID_CHECK_DIGIT"
	ReasonName       = "INVALID_NAME"
)

// MaxNameRunes is the longest name accepted (Tencent: Name ≤ 32).
const MaxNameRunes = 32

// idWeights are GB 11643-1999's weights for the 17 leading digits (2^(18-i) mod 11).
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheck maps the weighted sum mod 11 to the check character (ISO 7064 MOD 11-2).
const idCheck = "10X98765432"

// ValidateIDNumber checks a PRC resident ID number (GB 11643-1999): 18
// characters, a known province prefix, a real birth date not in the future,
// and the MOD 11-2 check character, which must be an upper-case X when it
// is ten (Tencent refuses a lower-case x). It returns an *Error with code
// InvalidParameterValue and a Reason naming the failed rule.
func ValidateIDNumber(s string) error { return validateIDNumber(s, time.Now()) }

func validateIDNumber(s string, now time.Time) error {
	if len(s) != 18 {
		return idErr(ReasonIDLength, "身份证号码应为18位", "ID number must be 18 characters, got %d bytes", len(s))
	}
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return idErr(ReasonIDChars, "身份证号码前17位应为数字", "ID number character %d is not a digit", i+1)
		}
	}
	last := s[17]
	switch {
	case last == 'x':
		return idErr(ReasonIDLowerX, "身份证号码末位X应为大写", "ID number check character must be an upper-case X")
	case last != 'X' && (last < '0' || last > '9'):
		return idErr(ReasonIDChars, "身份证号码末位应为数字或X", "ID number check character must be a digit or X")
	}
	if !knownProvince(s[:2]) {
		return idErr(ReasonIDRegion, "身份证号码地区码无效", "ID number region code %s is not a known province", s[:2])
	}
	if _, err := birthDate(s, now); err != nil {
		return err
	}
	if c := checkChar(s[:17]); c != last {
		return idErr(ReasonIDChecksum, "身份证号码校验位错误", "ID number check character does not match")
	}
	return nil
}

// IDBirthDate returns the birth date encoded in a valid ID number, for age
// rules such as the guardian consent of minors under 14.
func IDBirthDate(s string) (time.Time, error) {
	if err := ValidateIDNumber(s); err != nil {
		return time.Time{}, err
	}
	return birthDate(s, time.Now())
}

func birthDate(s string, now time.Time) (time.Time, error) {
	y, m, d := atoi(s[6:10]), atoi(s[10:12]), atoi(s[12:14])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	// time.Date normalises 0230 to 0302; a real date survives the round trip.
	if y < 1880 || t.Year() != y || t.Month() != time.Month(m) || t.Day() != d || t.After(now) {
		return time.Time{}, idErr(ReasonIDBirth, "身份证号码出生日期无效", "ID number birth date %s is not a real past date", s[6:14])
	}
	return t, nil
}

// checkChar computes the check character of 17 digits.
func checkChar(digits string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(digits[i]-'0') * idWeights[i]
	}
	return idCheck[sum%11]
}

// knownProvince reports whether a two-digit prefix is a province-level code
// of GB/T 2260 (mainland), or 71/81/82/83 used for Taiwan, Hong Kong and
// Macao residents' residence permits.
func knownProvince(p string) bool {
	switch n := atoi(p); {
	case n >= 11 && n <= 15, n >= 21 && n <= 23, n >= 31 && n <= 37,
		n >= 41 && n <= 46, n >= 50 && n <= 54, n >= 61 && n <= 65,
		n == 71, n == 81, n == 82, n == 83:
		return true
	}
	return false
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func idErr(reason, zh, format string, args ...any) *Error {
	e := Errorf(CodeInvalidParameterValue, zh, format, args...)
	e.Reason = reason
	return e
}

// ValidName reports whether s is a plausible person's name: valid UTF-8,
// 1–32 characters, letters (any script) with the separators that real names
// use (the middle dot of minority names, single inner spaces, hyphens,
// apostrophes), no digits or control characters, no surrounding space.
func ValidName(s string) bool {
	if s == "" || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return false
	}
	n, letters := 0, 0
	var prev rune
	prevSep := true // forbids a leading separator
	for _, r := range s {
		n++
		if n > MaxNameRunes {
			return false
		}
		switch {
		case unicode.IsLetter(r):
			letters++
			prevSep = false
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r):
			if prevSep {
				return false
			}
		case r == '·' || r == '•' || r == '．' || r == '.' || r == ' ' || r == '-' || r == '\'':
			// "J. R." keeps its space after an initial's dot; other separators stand alone.
			if prevSep && !(r == ' ' && prev == '.') {
				return false
			}
			prevSep = true
		default:
			return false
		}
		prev = r
	}
	// A trailing separator is refused, except the dot of an initial.
	return letters > 0 && (!prevSep || prev == '.')
}

// NameError is the error for a name ValidName refuses.
func NameError() *Error {
	e := Errorf(CodeInvalidParameterValue, "姓名格式无效", "name must be 1-%d letters (middle dot, space, hyphen allowed between them)", MaxNameRunes)
	e.Reason = ReasonName
	return e
}
