package eligibility_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"heshen/engine"
	"heshen/engine/eligibility"
)

// mutate returns the default policy with one exact replacement; it fails
// the test if old is not in the file, so a reworded default cannot turn a
// validation test into a no-op.
func mutate(t *testing.T, old, new string) []byte {
	t.Helper()
	src := string(eligibility.DefaultPolicy())
	if !strings.Contains(src, old) {
		t.Fatalf("default policy has no %q", old)
	}
	return []byte(strings.Replace(src, old, new, 1))
}

func TestPolicyValidation(t *testing.T) {
	scenarios := []struct {
		name     string
		old, new string
		want     string // in the error
	}{
		{"unknown_top_level_key", `require_all_categories_open = true`, "require_all_categories_open = true\nstrict = true", "unknown keys: strict (line 21)"},
		{"unknown_category_key", `name = "社交-直播"`, "name = \"社交-直播\"\nkeyword = [\"直播\"]", "unknown keys: category.keyword (line "},
		{"unknown_entity_key", `id = "notary"`, "id = \"notary\"\nopen_to = \"all\"", "unknown keys: entity_type.open_to"},
		{"duplicate_category", `name = "金融业-信托"`, `name = "金融业-银行"`, `duplicate category "金融业-银行"`},
		{"duplicate_category_via_alias", `aliases = ["政务-*"]`, `aliases = ["政务-*", "医疗-公立医疗机构"]`, `duplicate category "医疗-公立医疗机构"`},
		{"duplicate_category_spelling", `name = "金融业-信托"`, `name = "金融业 › 银行"`, `duplicate category "金融业-银行"`},
		{"empty_entities", `entities = ["notary"]`, `entities = []`, `"商业服务-公证": entities is empty`},
		{"empty_keywords", `keywords = ["公证", "存证", "遗嘱", "委托书"]`, `keywords = []`, `"商业服务-公证": keywords is empty`},
		{"empty_routes", "routes = [\"tencentcloud\"]\nkeywords = [\"公证\"", "routes = []\nkeywords = [\"公证\"", `"商业服务-公证": routes is empty`},
		{"empty_phrases", `phrases = ["上传照片", "照片上传", "个人照片", "上传头像", "头像上传", "生活照", "形象照", "上传个人照片", "个人主页图片"]`, `phrases = []`, `"photo": phrases is empty`},
		{"empty_name_keywords", `name_keywords = ["公证处"]`, `name_keywords = []`, `"notary": name_keywords is empty`},
		{"blank_entry", `keywords = ["公证", "存证"`, `keywords = ["公证", " ", "存证"`, "keywords has an empty entry"},
		{"repeated_entry", `keywords = ["公证", "存证"`, `keywords = ["公证", "公证"`, `keywords lists "公证" twice`},
		{"unknown_entity_ref", `entities = ["notary"]`, `entities = ["notary", "wizard"]`, `unknown entity type "wizard"`},
		{"unknown_route_ref", "routes = [\"tencentcloud\"]\nkeywords = [\"公证\"", "routes = [\"carrier_pigeon\"]\nkeywords = [\"公证\"", `unknown route "carrier_pigeon"`},
		{"bad_category_name", `name = "商业服务-公证"`, `name = "商业服务-公证-公证处"`, "is not 一级-二级"},
		{"duplicate_entity_type", `id = "notary"`, `id = "hotel"`, `duplicate entity type id`},
		{"alias_clash", `aliases = ["公证处"]`, `aliases = ["公证处", "宾馆"]`, `alias "宾馆" already names entity type "hotel"`},
		{"closed_type_admitted", `entities = ["notary"]`, `entities = ["company"]`, `"company" is not open but a category admits it`},
		{"bad_trigger_kind", `kind = "photo"`, `kind = "picture"`, "kind must be one of"},
		{"phrase_in_two_triggers", `phrases = ["上传照片",`, `phrases = ["人脸", "上传照片",`, `phrase "人脸" already in trigger "face"`},
		{"empty_version", `version = "2026.1"`, `version = ""`, "version is empty"},
		{"missing_reason_en", `reason_en = "face recognition, face scan or liveness detection"`, ``, "reason and reason_en are required"},
		{"excluded_use_empty", `keywords = ["门禁", "访客登记", "刷脸开门"]`, `keywords = []`, `"access_control": keywords is empty`},
		{"syntax_error", `version = "2026.1"`, `version = "2026.1`, "line "},
		{"unknown_table", `[[excluded_use]]
id = "access_control"`, "[[excluded_uses]]\nid = \"access_control\"", "unknown keys: excluded_uses"},
		{"wrong_type", `require_all_categories_open = true`, `require_all_categories_open = "yes"`, "require_all_categories_open"},
	}
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%02d_%s", i, s.name), func(t *testing.T) {
			_, err := eligibility.Parse(mutate(t, s.old, s.new), "site.toml")
			if err == nil {
				t.Fatal("accepted a broken policy")
			}
			if !strings.Contains(err.Error(), s.want) || !strings.Contains(err.Error(), "site.toml") {
				t.Errorf("error %q does not contain %q and the file name", err, s.want)
			}
		})
	}
}

// Several problems are all reported at once.
func TestPolicyValidationReportsAll(t *testing.T) {
	src := mutate(t, `entities = ["notary"]`, `entities = []`)
	src = []byte(strings.Replace(string(src), `version = "2026.1"`, `version = " "`, 1))
	_, err := eligibility.Parse(src, "p.toml")
	if err == nil || !strings.Contains(err.Error(), "entities is empty") || !strings.Contains(err.Error(), "version is empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestPolicyNotUTF8(t *testing.T) {
	if _, err := eligibility.Parse([]byte("version = \"\xff\"\n"), "gbk.toml"); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("err = %v", err)
	}
}

// A site file replaces the embedded policy; its version is reported and its
// rules apply.
func TestSitePolicyOverride(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.toml")
	src := mutate(t, `version = "2026.1"`, `version = "site-7"`)
	src = []byte(strings.Replace(string(src), "require_all_categories_open = true", "require_all_categories_open = false", 1))
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	site, err := eligibility.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if site.Version() != "site-7" {
		t.Fatalf("version = %q", site.Version())
	}
	in := eligibility.Input{
		Entity:     engine.Entity{Name: "某区人力资源和社会保障局"},
		Categories: eligibility.List{"政务民生-社保", "工具-信息查询"},
		Content:    "社保待遇资格认证,刷脸完成",
	}
	v := site.Check(in)
	if v.Verdict != eligibility.Eligible || v.PolicyVersion != "site-7" {
		t.Errorf("site policy: verdict %s version %s: %+v", v.Verdict, v.PolicyVersion, v.Findings.Category)
	}
	if !strings.Contains(v.Findings.Category.Reason, "工具-信息查询") {
		t.Errorf("category reason %q does not mention the closed category", v.Findings.Category.Reason)
	}
	// The same input under the default policy fails on the closed category.
	if v := mustDefault(t).Check(in); v.Verdict != eligibility.Ineligible || v.Findings.Category.OK {
		t.Errorf("default policy: verdict %s", v.Verdict)
	}

	if _, err := eligibility.Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("loaded a missing file")
	}
}

// The embedded policy stays consistent with the reference: every row cites
// a source and every open entity type is admitted somewhere (validation
// enforces the latter; this guards the former).
func TestDefaultPolicySources(t *testing.T) {
	p := mustDefault(t).Policy()
	if p.Source == "" || p.Updated == "" {
		t.Error("policy without source or updated date")
	}
	for _, c := range p.Categories {
		if !strings.HasPrefix(c.Source, "https://") {
			t.Errorf("%s: source %q", c.Name, c.Source)
		}
	}
}
