package eligibility

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Verdicts.
const (
	Eligible      = "eligible"
	Ineligible    = "ineligible"
	NotApplicable = "not_applicable" // nothing in it collects faces
)

// Remediation actions.
const (
	ActionChangeEntity         = "change_entity"
	ActionChangeCategory       = "change_category"
	ActionChangeEntityCategory = "change_entity_and_category"
	ActionRemoveFeature        = "remove_feature"
	ActionUseNativeInterface   = "use_native_interface"
)

// Verdict is the checker's answer (the JSON `heshen policy check` prints).
type Verdict struct {
	Verdict   string `json:"verdict"`
	Summary   string `json:"summary"`
	SummaryEN string `json:"summary_en"`

	Entity     EntityReport     `json:"entity"`
	Categories []CategoryReport `json:"categories"`
	// ContentCategories are the open categories the content reads as, best
	// match first.
	ContentCategories []string `json:"content_categories"`

	Findings Findings  `json:"findings"`
	Triggers []Trigger `json:"triggers"`
	// Remediation: for an ineligible verdict, the alternative changes that
	// would make it pass (any one of them); for an eligible one, what code
	// review still expects (self-collected face photos → the native
	// interface). Empty when nothing is needed.
	Remediation []Remedy `json:"remediation"`
	// Routes through which an eligible mini-program applies.
	Routes []Route `json:"routes,omitempty"`

	PolicyVersion string `json:"policy_version"`
}

// EntityReport says which entity type the checker used and why.
type EntityReport struct {
	Name         string `json:"name"`
	Type         string `json:"type"` // an entity type id, "" when unknown
	TypeName     string `json:"type_name"`
	TypeNameEN   string `json:"type_name_en"`
	Open         bool   `json:"open"`
	Inferred     bool   `json:"inferred"`
	InferredFrom string `json:"inferred_from,omitempty"` // the name's wording that decided it
}

// CategoryReport is one declared category looked up in the policy.
type CategoryReport struct {
	Input           string   `json:"input"`
	Category        string   `json:"category,omitempty"` // the policy row it matched
	Open            bool     `json:"open"`
	Entities        []string `json:"entities,omitempty"`
	Qualification   string   `json:"qualification,omitempty"`
	QualificationEN string   `json:"qualification_en,omitempty"`
	Routes          []string `json:"routes,omitempty"`
}

// Findings has one finding per dimension of the rule.
type Findings struct {
	Entity      Finding `json:"entity"`
	Category    Finding `json:"category"`
	Content     Finding `json:"content"`
	Consistency Finding `json:"consistency"`
}

// Finding is one dimension's outcome; Reason is Chinese, ReasonEN English.
type Finding struct {
	OK       bool   `json:"ok"`
	Reason   string `json:"reason"`
	ReasonEN string `json:"reason_en"`
}

// Trigger is a phrase in the content or features that review reads as face
// collection. Start and End are rune offsets into Field ("content" or
// "features[i]"), End exclusive.
type Trigger struct {
	Phrase string `json:"phrase"`
	Kind   string `json:"kind"`
	Field  string `json:"field"`
	Start  int    `json:"start"`
	End    int    `json:"end"`
}

// Remedy is one way to pass.
type Remedy struct {
	Action      string   `json:"action"`
	EntityTypes []string `json:"entity_types,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	Features    []string `json:"features,omitempty"` // phrases to remove
	Reason      string   `json:"reason"`
	ReasonEN    string   `json:"reason_en"`
}

// Checker applies one compiled policy. It is immutable and safe for
// concurrent use.
type Checker struct {
	p           *Policy
	types       map[string]*EntityType
	typeByAlias map[string]string // lower-case id, name or alias → id
	rows        []row
	rowByName   map[string]int    // normalised name or alias → row index
	phrases     map[rune][]phrase // by first rune, longest first
	features    map[string]string
	routes      map[string]Route
}

type row struct {
	*Category
	keywords []string // lower-case
}

type phrase struct {
	r    []rune // lower-case
	kind string
}

func compile(p *Policy) *Checker {
	c := &Checker{
		p:           p,
		types:       map[string]*EntityType{},
		typeByAlias: map[string]string{},
		rowByName:   map[string]int{},
		phrases:     map[rune][]phrase{},
		features:    map[string]string{},
		routes:      map[string]Route{},
	}
	for i := range p.EntityTypes {
		t := &p.EntityTypes[i]
		c.types[t.ID] = t
		for _, a := range append([]string{t.ID, t.Name}, t.Aliases...) {
			c.typeByAlias[strings.ToLower(a)] = t.ID
		}
	}
	for i := range p.Categories {
		cat := &p.Categories[i]
		c.rows = append(c.rows, row{Category: cat, keywords: lowerAll(cat.Keywords)})
		for _, n := range append([]string{cat.Name}, cat.Aliases...) {
			norm, _ := normCategory(n)
			c.rowByName[norm] = i
		}
	}
	for _, s := range p.Triggers {
		for _, ph := range s.Phrases {
			r := []rune(lower(ph))
			c.phrases[r[0]] = append(c.phrases[r[0]], phrase{r: r, kind: s.Kind})
		}
		for _, f := range s.Features {
			c.features[strings.ToLower(f)] = s.Kind
		}
	}
	for _, list := range c.phrases {
		sort.SliceStable(list, func(i, j int) bool { return len(list[i].r) > len(list[j].r) })
	}
	for _, r := range p.Routes {
		c.routes[r.ID] = r
	}
	return c
}

// Version is the effective policy version, reported in every verdict.
func (c *Checker) Version() string { return c.p.Version }

// Policy returns the compiled policy; callers must not modify it.
func (c *Checker) Policy() *Policy { return c.p }

func (c *Checker) typeIDs() []string {
	ids := make([]string, len(c.p.EntityTypes))
	for i, t := range c.p.EntityTypes {
		ids[i] = t.ID
	}
	return ids
}

// Check applies the policy. It never fails: missing parts of the input
// become failed findings (use Validate first to reject them as bad input).
func (c *Checker) Check(in Input) Verdict {
	v := Verdict{PolicyVersion: c.p.Version, Categories: []CategoryReport{}, ContentCategories: []string{},
		Triggers: []Trigger{}, Remediation: []Remedy{}}

	v.Entity = c.entity(in.Entity.Name, in.Entity.Type)
	v.Triggers = c.triggers(in)

	// The text the content checks read: the content and the features.
	text := lower(in.Content + "\n" + strings.Join(in.Features, "\n"))
	contentRows := c.contentRows(text)
	for _, i := range contentRows {
		v.ContentCategories = append(v.ContentCategories, c.rows[i].Name)
	}

	var declared []int // open rows the categories name, in input order, unique
	var closed []string
	for _, s := range in.Categories {
		rep := CategoryReport{Input: s}
		if i, ok := c.row(s); ok {
			r := c.rows[i]
			rep.Category, rep.Open, rep.Entities, rep.Routes = r.Name, true, r.Entities, r.Routes
			rep.Qualification, rep.QualificationEN = r.Qualification, r.QualificationEN
			declared = appendUnique(declared, i)
		} else {
			closed = append(closed, s)
		}
		v.Categories = append(v.Categories, rep)
	}

	v.Findings.Category = c.categoryFinding(in.Categories, declared, closed)
	v.Findings.Entity = c.entityFinding(v.Entity, declared)
	excluded := c.excludedUses(text)
	v.Findings.Content = c.contentFinding(in.Content, contentRows, excluded)
	consistent := intersect(declared, contentRows)
	v.Findings.Consistency = c.consistencyFinding(declared, contentRows, consistent)

	f := v.Findings
	switch {
	case len(v.Triggers) == 0:
		v.Verdict = NotApplicable
		v.Summary = "未发现采集人脸的功能,无需申请人脸核身能力"
		v.SummaryEN = "nothing in it collects faces; face verification is not needed"
	case f.Entity.OK && f.Category.OK && f.Content.OK && f.Consistency.OK:
		v.Verdict = Eligible
		v.Summary = "主体、类目、运营内容均在人脸核身开放范围内,可申请《微信人脸核身接口能力》"
		v.SummaryEN = "entity, categories and content are all in the open scope; it may apply for face verification"
		v.Routes = c.eligibleRoutes(v.Entity.Type, consistent)
		if m := c.selfCollected(v.Triggers); len(m) > 0 {
			v.Remediation = append(v.Remediation, Remedy{
				Action:   ActionUseNativeInterface,
				Features: m,
				Reason:   "自行上传" + strings.Join(m, "、") + "会被审核视为收集人脸敏感信息;请改为人脸核身服务模式,通过微信原生人脸核身接口核验身份",
				ReasonEN: "uploading " + strings.Join(m, ", ") + " yourself is read by review as collecting sensitive face information; switch to the face verification service mode and verify through the native WeChat interface",
			})
		}
	default:
		v.Verdict = Ineligible
		var zh, en []string
		for _, d := range []struct {
			ok     bool
			zh, en string
		}{{f.Entity.OK, "主体", "entity"}, {f.Category.OK, "类目", "category"}, {f.Content.OK, "运营内容", "content"}, {f.Consistency.OK, "内容与类目相符", "content matches categories"}} {
			if !d.ok {
				zh, en = append(zh, d.zh), append(en, d.en)
			}
		}
		v.Summary = "不符合人脸核身开放范围(未通过:" + strings.Join(zh, "、") + "),不得采集人脸照片或视频,也不得据此开展人脸识别"
		v.SummaryEN = "not in the open scope (failed: " + strings.Join(en, ", ") + "): it may not collect face photos or videos, nor run face recognition on them"
		v.Remediation = c.remedies(v, declared, contentRows, consistent, excluded)
	}
	return v
}

// entity resolves the declared type, or infers it from the name.
func (c *Checker) entity(name, typ string) EntityReport {
	rep := EntityReport{Name: strings.TrimSpace(name)}
	if t := strings.TrimSpace(typ); t != "" {
		rep.Type = c.typeByAlias[strings.ToLower(t)]
	} else {
		rep.Type, rep.InferredFrom = c.infer(rep.Name)
		rep.Inferred = rep.Type != ""
	}
	if t := c.types[rep.Type]; t != nil {
		rep.TypeName, rep.TypeNameEN, rep.Open = t.Name, t.NameEN, t.Open
	} else {
		rep.TypeName, rep.TypeNameEN = "未知", "unknown"
	}
	return rep
}

// infer walks the entity types in policy order; the first whose wording
// matches wins. A short all-Han name nothing else claims is a person's.
func (c *Checker) infer(name string) (id, from string) {
	n := lower(name)
	if n == "" {
		return "", ""
	}
	for _, t := range c.p.EntityTypes {
		kw := firstIn(n, t.NameKeywords)
		if kw == "" || (len(t.NameRequires) > 0 && firstIn(n, t.NameRequires) == "") || firstIn(n, t.NameExcludes) != "" {
			continue
		}
		return t.ID, kw
	}
	for _, t := range c.p.EntityTypes {
		if t.PersonNameMax > 0 && personName(name, t.PersonNameMax) {
			return t.ID, "人名(2–" + itoa(t.PersonNameMax) + "个汉字)"
		}
	}
	return "", ""
}

func personName(s string, max int) bool {
	n := utf8.RuneCountInString(s)
	if n < 2 || n > max {
		return false
	}
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) && r != '·' {
			return false
		}
	}
	return true
}

// row finds the open category row a declared category names.
func (c *Checker) row(s string) (int, bool) {
	norm, ok := normCategory(s)
	if !ok {
		return 0, false
	}
	if i, ok := c.rowByName[norm]; ok {
		return i, true
	}
	first, _, _ := strings.Cut(norm, "-")
	i, ok := c.rowByName[first+"-*"]
	return i, ok
}

// contentRows ranks the open rows whose keywords occur in text: most
// distinct keywords first, then policy order.
func (c *Checker) contentRows(text string) []int {
	type hit struct{ i, n int }
	var hits []hit
	for i, r := range c.rows {
		n := 0
		for _, k := range r.keywords {
			if strings.Contains(text, k) {
				n++
			}
		}
		if n > 0 {
			hits = append(hits, hit{i, n})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool { return hits[a].n > hits[b].n })
	out := make([]int, len(hits))
	for k, h := range hits {
		out[k] = h.i
	}
	return out
}

func (c *Checker) excludedUses(text string) []ExcludedUse {
	var out []ExcludedUse
	for _, u := range c.p.ExcludedUses {
		if firstIn(text, u.Keywords) != "" {
			out = append(out, u)
		}
	}
	return out
}

// triggers finds face-collection phrases: longest match first, no overlaps.
// A feature that is exactly a feature id is one trigger as a whole.
func (c *Checker) triggers(in Input) []Trigger {
	out := c.scan(in.Content, "content")
	for i, f := range in.Features {
		field := "features[" + itoa(i) + "]"
		if kind, ok := c.features[strings.ToLower(strings.TrimSpace(f))]; ok {
			out = append(out, Trigger{Phrase: f, Kind: kind, Field: field, Start: 0, End: utf8.RuneCountInString(f)})
			continue
		}
		out = append(out, c.scan(f, field)...)
	}
	return out
}

func (c *Checker) scan(s, field string) []Trigger {
	orig := []rune(s)
	rs := make([]rune, len(orig))
	for i, r := range orig {
		rs[i] = unicode.ToLower(r) // rune for rune, so offsets stay those of s
	}
	var out []Trigger
	for i := 0; i < len(rs); {
		matched := false
		for _, p := range c.phrases[rs[i]] {
			if hasPrefix(rs[i:], p.r) {
				end := i + len(p.r)
				out = append(out, Trigger{Phrase: string(orig[i:end]), Kind: p.kind, Field: field, Start: i, End: end})
				i, matched = end, true
				break
			}
		}
		if !matched {
			i++
		}
	}
	return out
}

func (c *Checker) categoryFinding(input []string, declared []int, closed []string) Finding {
	switch {
	case len(input) == 0:
		return Finding{false, "未填写服务类目", "no service category declared"}
	case len(declared) == 0:
		return Finding{false, "所选类目(" + strings.Join(closed, "、") + ")均不在人脸核身开放类目范围内",
			"none of the categories (" + strings.Join(closed, ", ") + ") is open for face verification"}
	case len(closed) > 0 && c.p.RequireAllCategoriesOpen:
		return Finding{false, "类目 " + strings.Join(closed, "、") + " 不在人脸核身开放类目范围内(所有类目均须在开放范围内)",
			"categories " + strings.Join(closed, ", ") + " are not open for face verification (every category must be)"}
	}
	names := c.rowNames(declared)
	f := Finding{true, "所选类目属于开放范围:" + strings.Join(names, "、"),
		"the categories are open: " + strings.Join(names, ", ")}
	if len(closed) > 0 {
		f.Reason += ";" + strings.Join(closed, "、") + " 未开放,不可用于人脸核身"
		f.ReasonEN += "; " + strings.Join(closed, ", ") + " not open, not usable for face verification"
	}
	return f
}

func (c *Checker) entityFinding(e EntityReport, declared []int) Finding {
	t := c.types[e.Type]
	how, howEN := "", ""
	if e.Inferred {
		how, howEN = "(由名称中的“"+e.InferredFrom+"”推断)", " (inferred from \""+e.InferredFrom+"\" in the name)"
	}
	switch {
	case t == nil:
		return Finding{false, "无法从名称“" + e.Name + "”推断主体类型,请在 entity.type 中注明",
			"cannot infer the entity type from the name \"" + e.Name + "\"; declare entity.type"}
	case !t.Open:
		return Finding{false, "注册主体“" + e.Name + "”为" + t.Name + how + ",不在人脸核身开放主体范围内",
			"the registered entity \"" + e.Name + "\" is classed as " + t.NameEN + howEN + ", not an open entity type"}
	}
	var admitting, others []int
	for _, i := range declared {
		if contains(c.rows[i].Entities, t.ID) {
			admitting = append(admitting, i)
		} else {
			others = append(others, i)
		}
	}
	if len(declared) > 0 && len(admitting) == 0 {
		need := c.typeNames(c.rowsEntities(others))
		return Finding{false, "注册主体为" + t.Name + how + ",但所选类目 " + strings.Join(c.rowNames(others), "、") + " 仅对" + strings.Join(need, "、") + "开放",
			"the entity is classed as " + t.NameEN + howEN + ", but " + strings.Join(c.rowNames(others), ", ") + " is open only to " + strings.Join(c.typeNamesEN(c.rowsEntities(others)), ", ")}
	}
	f := Finding{true, "注册主体为" + t.Name + how + ",属于人脸核身开放主体范围",
		"the registered entity is classed as " + t.NameEN + howEN + ", an open entity type"}
	for _, i := range admitting {
		f.Reason += ";类目 " + c.rows[i].Name + " 的资质要求:" + c.rows[i].Qualification
		f.ReasonEN += "; " + c.rows[i].Name + " requires: " + c.rows[i].QualificationEN
	}
	if len(admitting) > 0 {
		f.Reason += "(资质证照须另行核验)"
		f.ReasonEN += " (licences are not verified here)"
	}
	return f
}

func (c *Checker) contentFinding(content string, rows []int, excluded []ExcludedUse) Finding {
	switch {
	case strings.TrimSpace(content) == "":
		return Finding{false, "未填写运营内容", "no operating content given"}
	case len(excluded) > 0:
		f := Finding{OK: false}
		for k, u := range excluded {
			if k > 0 {
				f.Reason += ";"
				f.ReasonEN += "; "
			}
			f.Reason += u.Reason
			f.ReasonEN += u.ReasonEN
		}
		return f
	case len(rows) == 0:
		return Finding{false, "运营内容未对应任何开放类目的实名核验业务(政务、医疗、金融、运营商、学历教育、物流、出行等)",
			"the content matches no open category's real-name service (government, medical, finance, telecom, education, logistics, transport, …)"}
	}
	names := c.rowNames(rows)
	return Finding{true, "运营内容属于开放范围内的业务,对应类目:" + strings.Join(names, "、"),
		"the content is a service in the open scope, matching: " + strings.Join(names, ", ")}
}

func (c *Checker) consistencyFinding(declared, rows, consistent []int) Finding {
	switch {
	case len(consistent) > 0:
		return Finding{true, "运营内容与所选类目 " + strings.Join(c.rowNames(consistent), "、") + " 相符",
			"the content matches the categories " + strings.Join(c.rowNames(consistent), ", ")}
	case len(declared) == 0:
		return Finding{false, "所选类目均不在开放范围,运营内容无法对应到开放类目",
			"no declared category is open, so the content cannot match an open category"}
	case len(rows) == 0:
		return Finding{false, "运营内容未体现所选类目 " + strings.Join(c.rowNames(declared), "、") + " 的业务",
			"the content does not describe a " + strings.Join(c.rowNames(declared), ", ") + " service"}
	}
	return Finding{false, "实际运营内容(" + c.rows[rows[0]].Name + ")与所选类目 " + strings.Join(c.rowNames(declared), "、") + " 不相符",
		"the content (" + c.rows[rows[0]].Name + ") does not match the categories " + strings.Join(c.rowNames(declared), ", ")}
}

// remedies lists alternative changes that would make an ineligible
// mini-program pass: first the structural fix the seed's cases give (move
// to an eligible entity and/or category, then apply for the interface),
// then dropping the face-collecting feature.
func (c *Checker) remedies(v Verdict, declared, rows, consistent []int, excluded []ExcludedUse) []Remedy {
	out := []Remedy{}
	f := v.Findings
	t := c.types[v.Entity.Type]
	const apply = ",再申请《微信人脸核身接口能力》,通过原生人脸核身接口核验身份"
	const applyEN = ", then apply for the WeChat face verification capability and verify through the native interface"

	// Rows the content fits that would also take this entity as it is.
	var fitting []int
	if t != nil && t.Open {
		for _, i := range rows {
			if contains(c.rows[i].Entities, t.ID) {
				fitting = append(fitting, i)
			}
		}
	}
	structural := len(excluded) == 0 && len(rows) > 0
	switch {
	case !structural:
		// Attendance, profile photos and the like: no entity or category opens them.
	case !f.Entity.OK && len(fitting) > 0:
		out = append(out, c.changeCategory(fitting[:1], apply, applyEN))
	case !f.Entity.OK && len(consistent) > 0 && (f.Category.OK || !c.p.RequireAllCategoriesOpen):
		types := c.rowsEntities(consistent)
		out = append(out, Remedy{
			Action:      ActionChangeEntity,
			EntityTypes: types,
			Reason:      "更改小程序主体为" + strings.Join(c.typeNames(types), "或") + "主体,迁移/切换主体后注册和运营" + apply,
			ReasonEN:    "move the mini-program to an entity of type " + strings.Join(c.typeNamesEN(types), " or ") + applyEN,
		})
	case !f.Entity.OK:
		target := rows[0]
		if len(consistent) > 0 {
			target = consistent[0]
		}
		types := c.rows[target].Entities
		out = append(out, Remedy{
			Action:      ActionChangeEntityCategory,
			EntityTypes: types,
			Categories:  []string{c.rows[target].Name},
			Reason:      "更改小程序主体为" + strings.Join(c.typeNames(types), "或") + "主体,同时类目选择【" + c.rows[target].Name + "】" + apply,
			ReasonEN:    "move the mini-program to an entity of type " + strings.Join(c.typeNamesEN(types), " or ") + " and choose the category " + c.rows[target].Name + applyEN,
		})
	case !f.Consistency.OK && len(fitting) > 0:
		out = append(out, c.changeCategory(fitting[:1], apply, applyEN))
	case !f.Category.OK && len(consistent) > 0:
		keep := c.rowNames(consistent)
		out = append(out, Remedy{
			Action:     ActionChangeCategory,
			Categories: keep,
			Reason:     "删除未开放的类目,仅保留【" + strings.Join(keep, "】【") + "】" + apply,
			ReasonEN:   "drop the categories that are not open and keep " + strings.Join(keep, ", ") + applyEN,
		})
	}
	if m := uniquePhrases(v.Triggers); len(m) > 0 {
		out = append(out, Remedy{
			Action:   ActionRemoveFeature,
			Features: m,
			Reason:   "移除采集人脸的功能(" + strings.Join(m, "、") + "),不采集人脸即无需人脸核身能力",
			ReasonEN: "remove the face-collecting features (" + strings.Join(m, ", ") + "); without them no face verification capability is needed",
		})
	}
	return out
}

func (c *Checker) changeCategory(target []int, apply, applyEN string) Remedy {
	names := c.rowNames(target)
	return Remedy{
		Action:     ActionChangeCategory,
		Categories: names,
		Reason:     "类目改为【" + strings.Join(names, "】【") + "】(与主体和运营内容相符)" + apply,
		ReasonEN:   "change the category to " + strings.Join(names, ", ") + " (it fits the entity and the content)" + applyEN,
	}
}

// eligibleRoutes are the routes of the rows that fit entity and content.
func (c *Checker) eligibleRoutes(entity string, consistent []int) []Route {
	var ids []string
	for _, i := range consistent {
		if contains(c.rows[i].Entities, entity) {
			for _, r := range c.rows[i].Routes {
				if !contains(ids, r) {
					ids = append(ids, r)
				}
			}
		}
	}
	out := make([]Route, 0, len(ids))
	for _, r := range c.p.Routes { // policy order
		if contains(ids, r.ID) {
			out = append(out, r)
		}
	}
	return out
}

// selfCollected lists the face pictures the mini-program collects itself.
func (c *Checker) selfCollected(ts []Trigger) []string {
	var own []Trigger
	for _, t := range ts {
		if t.Kind == KindMaterial || t.Kind == KindPhoto {
			own = append(own, t)
		}
	}
	return uniquePhrases(own)
}

func uniquePhrases(ts []Trigger) []string {
	var out []string
	for _, t := range ts {
		if !contains(out, t.Phrase) {
			out = append(out, t.Phrase)
		}
	}
	return out
}

func (c *Checker) rowNames(rows []int) []string {
	out := make([]string, len(rows))
	for k, i := range rows {
		out[k] = c.rows[i].Name
	}
	return out
}

func (c *Checker) rowsEntities(rows []int) []string {
	var out []string
	for _, i := range rows {
		for _, e := range c.rows[i].Entities {
			if !contains(out, e) {
				out = append(out, e)
			}
		}
	}
	return out
}

func (c *Checker) typeNames(ids []string) []string {
	out := make([]string, len(ids))
	for k, id := range ids {
		out[k] = c.types[id].Name
	}
	return out
}

func (c *Checker) typeNamesEN(ids []string) []string {
	out := make([]string, len(ids))
	for k, id := range ids {
		out[k] = c.types[id].NameEN
	}
	return out
}

func firstIn(lowerText string, words []string) string {
	for _, w := range words {
		if strings.Contains(lowerText, lower(w)) {
			return w
		}
	}
	return ""
}

func hasPrefix(s, p []rune) bool {
	if len(s) < len(p) {
		return false
	}
	for i := range p {
		if s[i] != p[i] {
			return false
		}
	}
	return true
}

func lower(s string) string {
	return strings.Map(unicode.ToLower, s)
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = lower(s)
	}
	return out
}

func appendUnique(list []int, i int) []int {
	for _, v := range list {
		if v == i {
			return list
		}
	}
	return append(list, i)
}

// intersect keeps the elements of b that are in a, in b's order (b is
// ranked by content match).
func intersect(a, b []int) []int {
	var out []int
	for _, v := range b {
		for _, w := range a {
			if v == w {
				out = append(out, v)
				break
			}
		}
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
