package engine

import (
	"errors"
	"testing"
	"time"
)

// withCheck completes 17 digits with their check character.
func withCheck(d17 string) string { return d17 + string(checkChar(d17)) }

func TestValidateIDNumber(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, id, reason string
	}{
		{"standard's example with X", "11010519491231002X", ""},
		{"digit check", withCheck("44030419900307123"), ""},
		{"leap day", withCheck("31011520000229001"), ""},
		{"born today", withCheck("32010220261123001"), ""},
		{"Hong Kong permit", withCheck("81000019800101002"), ""},
		{"lower-case x", "11010519491231002x", ReasonIDLowerX},
		{"17 chars", "11010519491231002", ReasonIDLength},
		{"19 chars", "11010519491231002X1", ReasonIDLength},
		{"empty", "", ReasonIDLength},
		{"15-digit old format", "110105491231002", ReasonIDLength},
		{"letter inside", "1101051949123100AX", ReasonIDChars},
		{"bad last char", "11010519491231002Y", ReasonIDChars},
		{"full-width digits", "１１０１０５１９４９", ReasonIDLength},
		{"unknown province 00", withCheck("00010519491231002"), ReasonIDRegion},
		{"unknown province 99", withCheck("99010519491231002"), ReasonIDRegion},
		{"unknown province 16", withCheck("16010519491231002"), ReasonIDRegion},
		{"month 13", withCheck("11010519491331002"), ReasonIDBirth},
		{"Feb 30", withCheck("11010519490230002"), ReasonIDBirth},
		{"Feb 29 non-leap", withCheck("11010519000229002"), ReasonIDBirth},
		{"day 00", withCheck("11010519490100002"), ReasonIDBirth},
		{"future birth", withCheck("11010520261124002"), ReasonIDBirth},
		{"year 1800", withCheck("11010518000101002"), ReasonIDBirth},
		{"wrong check digit", "110105194912310021", ReasonIDChecksum},
		{"X where digit due", "44030419900307124X", ReasonIDChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateIDNumber(tt.id, now)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("validateIDNumber(%q) = %v, want nil", tt.id, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("validateIDNumber(%q) = %v, want *Error", tt.id, err)
			}
			if e.Code != CodeInvalidParameterValue || e.Reason != tt.reason {
				t.Fatalf("validateIDNumber(%q) = %s/%s, want %s/%s", tt.id, e.Code, e.Reason, CodeInvalidParameterValue, tt.reason)
			}
			if e.Message == "" || e.EN == "" {
				t.Fatalf("error lacks a message: %+v", e)
			}
		})
	}
}

func TestCheckCharEveryResidue(t *testing.T) {
	// Each of the 11 residues must be reachable and give a distinct valid ID.
	seen := map[byte]bool{}
	for seq := 0; seq < 200 && len(seen) < 11; seq++ {
		d17 := "1101051949123" + string(rune('0'+seq/100%10)) + string(rune('0'+seq/10%10)) + string(rune('0'+seq%10)) + "1"
		id := withCheck(d17)
		if err := ValidateIDNumber(id); err != nil {
			t.Fatalf("ValidateIDNumber(%q) = %v", id, err)
		}
		seen[id[17]] = true
	}
	if len(seen) != 11 {
		t.Fatalf("check characters seen %d, want 11", len(seen))
	}
}

func TestIDBirthDate(t *testing.T) {
	got, err := IDBirthDate("11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("IDBirthDate = %v, want %v", got, want)
	}
	if _, err := IDBirthDate("11010519491231002x"); err == nil {
		t.Fatal("IDBirthDate accepted a lower-case x")
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"张三", true},
		{"欧阳娜娜", true},
		{"阿卜杜拉·买买提", true},
		{"Zhang San", true},
		{"J. R. Smith", true},
		{"O'Neil-Smith", true},
		{"李", true},
		{"", false},
		{" 张三", false},
		{"张三 ", false},
		{"张三3", false},
		{"·张三", false},
		{"张三·", false},
		{"张··三", false},
		{"张  三", false},
		{"张\n三", false},
		{"<script>", false},
		{"\xff\xfe", false},
		{"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二", true},   // 32
		{"一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三", false}, // 33
	}
	for _, tt := range tests {
		if got := ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
	if e := NameError(); e.Code != CodeInvalidParameterValue || e.Reason != ReasonName {
		t.Fatalf("NameError = %+v", e)
	}
}

func FuzzValidateIDNumber(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "", "1101051949123100", "99999999999999999X", "110105194902300021"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		err := validateIDNumber(s, now)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidParameterValue || e.Reason == "" {
				t.Fatalf("validateIDNumber(%q) = %v, want InvalidParameterValue with a reason", s, err)
			}
			return
		}
		// Anything accepted must be 18 ASCII characters ending in its own check character.
		if len(s) != 18 || checkChar(s[:17]) != s[17] {
			t.Fatalf("validateIDNumber accepted %q", s)
		}
	})
}

func FuzzValidName(f *testing.F) {
	for _, s := range []string{"张三", "阿卜杜拉·买买提", "J. R.", "", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidName(s) && (len([]rune(s)) > MaxNameRunes || s == "") {
			t.Fatalf("ValidName accepted %q", s)
		}
	})
}
