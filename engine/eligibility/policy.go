// Package eligibility decides whether a WeChat mini-program may collect faces
// for identity verification (人脸核身), following the WeChat admission rule:
// its registered entity, its service categories and its operating content
// must all be in the open scope, and the content must match the categories.
//
// The scope is data: an embedded TOML policy (policy.toml) that a site can
// replace with its own file. Load validates it strictly, so a typo in a site
// file is an error at start-up, not a silently wrong verdict.
package eligibility

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

//go:embed policy.toml
var defaultPolicy []byte

// DefaultPolicy returns the embedded policy file, the starting point for a
// site's own.
func DefaultPolicy() []byte { return append([]byte(nil), defaultPolicy...) }

// Policy is the parsed policy file. Field comments name the TOML keys.
type Policy struct {
	Version                  string        `toml:"version"`
	Updated                  string        `toml:"updated"`
	Source                   string        `toml:"source"`
	RequireAllCategoriesOpen bool          `toml:"require_all_categories_open"`
	Routes                   []Route       `toml:"route"`
	EntityTypes              []EntityType  `toml:"entity_type"`
	Categories               []Category    `toml:"category"`
	Triggers                 []TriggerSet  `toml:"trigger"`
	ExcludedUses             []ExcludedUse `toml:"excluded_use"`
}

// Route is a way for a mini-program to reach face verification.
type Route struct {
	ID      string `toml:"id" json:"id"`
	Name    string `toml:"name" json:"name"`
	NameEN  string `toml:"name_en" json:"name_en"`
	Apply   string `toml:"apply" json:"apply"`
	ApplyEN string `toml:"apply_en" json:"apply_en"`
	Source  string `toml:"source" json:"source"`
}

// EntityType is a kind of registered entity; Open says whether it may use
// face verification at all. The name_* lists drive name inference.
type EntityType struct {
	ID            string   `toml:"id"`
	Name          string   `toml:"name"`
	NameEN        string   `toml:"name_en"`
	Open          bool     `toml:"open"`
	Aliases       []string `toml:"aliases"`
	NameKeywords  []string `toml:"name_keywords"`
	NameRequires  []string `toml:"name_requires"`
	NameExcludes  []string `toml:"name_excludes"`
	PersonNameMax int      `toml:"person_name_max"`
}

// Category is one open category row.
type Category struct {
	Name            string   `toml:"name"` // 一级-二级, 二级 may be "*"
	Aliases         []string `toml:"aliases"`
	Entities        []string `toml:"entities"`
	Qualification   string   `toml:"qualification"`
	QualificationEN string   `toml:"qualification_en"`
	Routes          []string `toml:"routes"`
	Keywords        []string `toml:"keywords"`
	Source          string   `toml:"source"`
}

// TriggerSet is a group of phrases a reviewer reads as face collection.
type TriggerSet struct {
	Kind     string   `toml:"kind"`
	Reason   string   `toml:"reason"`
	ReasonEN string   `toml:"reason_en"`
	Phrases  []string `toml:"phrases"`
	Features []string `toml:"features"`
}

// ExcludedUse is a use of faces that no category opens (attendance, …).
type ExcludedUse struct {
	ID       string   `toml:"id"`
	Keywords []string `toml:"keywords"`
	Reason   string   `toml:"reason"`
	ReasonEN string   `toml:"reason_en"`
}

// Trigger kinds. face and video are face verification as such; material
// and photo are face pictures the mini-program collects by itself.
const (
	KindFace     = "face"
	KindVideo    = "video"
	KindMaterial = "material"
	KindPhoto    = "photo"
)

// Load reads the policy at path and compiles a Checker; path "" means the
// embedded default.
func Load(path string) (*Checker, error) {
	if path == "" {
		return Parse(defaultPolicy, "embedded policy")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Parse(data, path)
}

// Parse compiles a policy from TOML; name is used in error messages.
func Parse(data []byte, name string) (*Checker, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("policy %s: not UTF-8 text", name)
	}
	var p Policy
	md, err := toml.Decode(string(data), &p)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("policy %s: line %d (key %s): %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("policy %s: line %d: %s", name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		keys := make([]string, len(un))
		for i, k := range un {
			keys[i] = k.String()
			if line := keyLine(data, k[len(k)-1]); line > 0 {
				keys[i] += fmt.Sprintf(" (line %d)", line)
			}
		}
		return nil, fmt.Errorf("policy %s: unknown keys: %s", name, strings.Join(keys, ", "))
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("policy %s: %w", name, err)
	}
	return compile(&p), nil
}

// validate checks what the TOML decoder cannot: required fields, empty
// lists, duplicates and references between sections. It reports every
// problem, not just the first.
func (p *Policy) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if strings.TrimSpace(p.Version) == "" {
		bad("version is empty")
	}
	if len(p.Routes) == 0 {
		bad("no [[route]]")
	}
	if len(p.EntityTypes) == 0 {
		bad("no [[entity_type]]")
	}
	if len(p.Categories) == 0 {
		bad("no [[category]]")
	}
	if len(p.Triggers) == 0 {
		bad("no [[trigger]]")
	}

	routes := map[string]bool{}
	for i, r := range p.Routes {
		where := fmt.Sprintf("route[%d] %q", i, r.ID)
		switch {
		case r.ID == "":
			bad("route[%d]: id is empty", i)
		case routes[r.ID]:
			bad("%s: duplicate route id", where)
		}
		routes[r.ID] = true
		if r.Name == "" || r.NameEN == "" {
			bad("%s: name and name_en are required", where)
		}
	}

	types := map[string]bool{}
	aliases := map[string]string{}
	for i, t := range p.EntityTypes {
		where := fmt.Sprintf("entity_type[%d] %q", i, t.ID)
		switch {
		case t.ID == "":
			bad("entity_type[%d]: id is empty", i)
		case types[t.ID]:
			bad("%s: duplicate entity type id", where)
		}
		types[t.ID] = true
		if t.Name == "" || t.NameEN == "" {
			bad("%s: name and name_en are required", where)
		}
		if len(t.NameKeywords) == 0 {
			bad("%s: name_keywords is empty", where)
		}
		if t.PersonNameMax < 0 || t.PersonNameMax == 1 {
			bad("%s: person_name_max must be 0 (off) or at least 2", where)
		}
		checkList(bad, where, "name_keywords", t.NameKeywords)
		checkList(bad, where, "name_requires", t.NameRequires)
		checkList(bad, where, "name_excludes", t.NameExcludes)
		checkList(bad, where, "aliases", t.Aliases)
		for _, a := range append([]string{t.ID, t.Name}, t.Aliases...) {
			k := strings.ToLower(a)
			if prev, ok := aliases[k]; ok && prev != t.ID {
				bad("%s: name or alias %q already names entity type %q", where, a, prev)
			}
			aliases[k] = t.ID
		}
	}

	cats := map[string]string{}
	admitted := map[string]bool{}
	for i, c := range p.Categories {
		where := fmt.Sprintf("category[%d] %q", i, c.Name)
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			norm, ok := normCategory(n)
			if !ok {
				bad("%s: %q is not 一级-二级", where, n)
				continue
			}
			if prev, dup := cats[norm]; dup {
				bad("%s: duplicate category %q (already in %q)", where, norm, prev)
				continue
			}
			cats[norm] = c.Name
		}
		if len(c.Entities) == 0 {
			bad("%s: entities is empty", where)
		}
		for _, e := range c.Entities {
			if !types[e] {
				bad("%s: unknown entity type %q", where, e)
			}
			admitted[e] = true
		}
		if len(c.Routes) == 0 {
			bad("%s: routes is empty", where)
		}
		for _, r := range c.Routes {
			if !routes[r] {
				bad("%s: unknown route %q", where, r)
			}
		}
		if len(c.Keywords) == 0 {
			bad("%s: keywords is empty", where)
		}
		checkList(bad, where, "keywords", c.Keywords)
		checkList(bad, where, "aliases", c.Aliases)
		if c.Qualification == "" || c.QualificationEN == "" {
			bad("%s: qualification and qualification_en are required", where)
		}
	}
	for _, t := range p.EntityTypes {
		if t.Open && t.ID != "" && !admitted[t.ID] {
			bad("entity_type %q is open but no category admits it", t.ID)
		}
		if !t.Open && admitted[t.ID] {
			bad("entity_type %q is not open but a category admits it", t.ID)
		}
	}

	kinds := map[string]bool{}
	phrases := map[string]string{}
	for i, s := range p.Triggers {
		where := fmt.Sprintf("trigger[%d] %q", i, s.Kind)
		if valid := []string{KindFace, KindVideo, KindMaterial, KindPhoto}; !contains(valid, s.Kind) {
			bad("%s: kind must be one of %s", where, strings.Join(valid, ", "))
		} else if kinds[s.Kind] {
			bad("%s: duplicate trigger kind", where)
		}
		kinds[s.Kind] = true
		if len(s.Phrases) == 0 {
			bad("%s: phrases is empty", where)
		}
		if s.Reason == "" || s.ReasonEN == "" {
			bad("%s: reason and reason_en are required", where)
		}
		checkList(bad, where, "phrases", s.Phrases)
		checkList(bad, where, "features", s.Features)
		for _, ph := range append(append([]string(nil), s.Phrases...), s.Features...) {
			k := strings.ToLower(ph)
			if prev, ok := phrases[k]; ok {
				bad("%s: phrase %q already in trigger %q", where, ph, prev)
			}
			phrases[k] = s.Kind
		}
	}

	uses := map[string]bool{}
	for i, u := range p.ExcludedUses {
		where := fmt.Sprintf("excluded_use[%d] %q", i, u.ID)
		switch {
		case u.ID == "":
			bad("excluded_use[%d]: id is empty", i)
		case uses[u.ID]:
			bad("%s: duplicate excluded use id", where)
		}
		uses[u.ID] = true
		if len(u.Keywords) == 0 {
			bad("%s: keywords is empty", where)
		}
		checkList(bad, where, "keywords", u.Keywords)
		if u.Reason == "" || u.ReasonEN == "" {
			bad("%s: reason and reason_en are required", where)
		}
	}
	return errors.Join(errs...)
}

// keyLine finds the first line that sets or opens key, since the decoder
// reports unknown keys without positions.
func keyLine(data []byte, key string) int {
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "[") {
			if strings.Trim(l, "[] ") == key {
				return i + 1
			}
			continue
		}
		k, _, ok := strings.Cut(l, "=")
		if ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return i + 1
		}
	}
	return 0
}

// checkList rejects blank and repeated entries, which are always typos.
func checkList(bad func(string, ...any), where, key string, list []string) {
	seen := map[string]bool{}
	for _, s := range list {
		if strings.TrimSpace(s) == "" {
			bad("%s: %s has an empty entry", where, key)
			continue
		}
		if seen[s] {
			bad("%s: %s lists %q twice", where, key, s)
		}
		seen[s] = true
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// normCategory canonicalises a category to "一级-二级": it trims spaces and
// accepts the separators people write (-, —, ›, >), folds ASCII case and
// full-width brackets. A bare 一级 means every sub-category ("-*"). ok is
// false when a level is empty or there are more than two.
func normCategory(s string) (string, bool) {
	s = strings.TrimSpace(s)
	for _, sep := range []string{"›", "＞", ">", "—", "－"} {
		s = strings.ReplaceAll(s, sep, "-")
	}
	s = strings.ReplaceAll(s, " ", "")
	s = strings.ReplaceAll(s, "（", "(")
	s = strings.ReplaceAll(s, "）", ")")
	if s == "" {
		return "", false
	}
	first, second, found := strings.Cut(s, "-")
	if !found {
		second = "*"
	}
	if first == "" || second == "" || strings.Contains(second, "-") {
		return s, false
	}
	return strings.ToLower(first + "-" + second), true
}
