package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"heshen/engine/eligibility"
)

func runPolicy(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"policy"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestPolicyCheckCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	seed1 := write("seed1.json", `{"entity":{"name":"政务服务数据管理局"},
		"categories":["政务民生-交通违法","政务民生-政务服务大厅","政务民生-医疗","政务民生-祭扫","政务民生-公积金"],
		"content":"提供政务民生服务大厅、政务民生医疗等政务服务,在登录页面涉及人脸识别登录,需录制、采集带有人脸的视频用于验证办理人身份信息"}`)
	seed3 := write("seed3.json", `{"entity":{"name":"某市123有限公司"},"categories":["社交-直播"],
		"content":"某营业厅在线自助办理通信类时,实名认证环节需上传身份证正反面和手持身份照片"}`)
	noFaces := write("nofaces.json", `{"entity":{"name":"某市住房公积金管理中心"},"categories":"政务民生-公积金","content":"公积金余额查询"}`)
	badJSON := write("bad.json", `{"entity":{"name":"某局"},`)
	gbk := write("gbk.json", "{\"entity\":{\"name\":\"\xc4\xb3\xbe\xd6\"},\"categories\":[\"a-b\"],\"content\":\"x\"}")
	site := write("site.toml", strings.Replace(string(eligibility.DefaultPolicy()), `version = "2026.1"`, `version = "site-3"`, 1))
	brokenPolicy := write("broken.toml", strings.Replace(string(eligibility.DefaultPolicy()), `entities = ["notary"]`, `entities = []`, 1))

	scenarios := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		verdict  string // checked when stdout is a verdict
		version  string
		inStderr string
	}{
		{"eligible", []string{"check", seed1}, "", 0, eligibility.Eligible, "2026.1", ""},
		{"ineligible", []string{"check", seed3}, "", 1, eligibility.Ineligible, "2026.1", ""},
		{"not_applicable", []string{"check", noFaces}, "", 3, eligibility.NotApplicable, "2026.1", ""},
		{"stdin", []string{"check", "-"}, `{"entity":{"name":"某市123有限公司"},"categories":["社交-直播"],"content":"营业厅办卡需手持身份证照片"}`, 1, eligibility.Ineligible, "2026.1", ""},
		{"site_policy_before_file", []string{"check", "--policy", site, seed1}, "", 0, eligibility.Eligible, "site-3", ""},
		{"site_policy_after_file", []string{"check", seed3, "-policy=" + site}, "", 1, eligibility.Ineligible, "site-3", ""},
		{"bad_json", []string{"check", badJSON}, "", 2, "", "", "InvalidParameter"},
		{"gbk", []string{"check", gbk}, "", 2, "", "", "GBK"},
		{"empty_stdin", []string{"check", "-"}, "", 2, "", "", "MissingParameter"},
		{"missing_name", []string{"check", "-"}, `{"categories":["政务民生-社保"],"content":"刷脸"}`, 2, "", "", "entity.name"},
		{"missing_file", []string{"check", filepath.Join(dir, "nope.json")}, "", 2, "", "", "no such file"},
		{"broken_policy", []string{"check", "--policy", brokenPolicy, seed1}, "", 2, "", "", "entities is empty"},
		{"no_file", []string{"check"}, "", 2, "", "", "usage"},
		{"two_files", []string{"check", seed1, seed3}, "", 2, "", "", "usage"},
		{"bad_flag", []string{"check", "--polcy", site, seed1}, "", 2, "", "", "polcy"},
		{"no_subcommand", nil, "", 2, "", "", "usage"},
		{"unknown_subcommand", []string{"chek"}, "", 2, "", "", "chek"},
		{"validate_ok", []string{"validate", site}, "", 0, "", "", ""},
		{"validate_broken", []string{"validate", brokenPolicy}, "", 2, "", "", "entities is empty"},
	}
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%02d_%s", i, s.name), func(t *testing.T) {
			code, stdout, stderr := runPolicy(t, s.stdin, s.args...)
			if code != s.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, s.code, stdout, stderr)
			}
			if !strings.Contains(stderr, s.inStderr) {
				t.Errorf("stderr %q does not contain %q", stderr, s.inStderr)
			}
			if s.verdict == "" {
				if s.code == 2 && stdout != "" {
					t.Errorf("bad input printed to stdout: %s", stdout)
				}
				return
			}
			var v eligibility.Verdict
			if err := json.Unmarshal([]byte(stdout), &v); err != nil {
				t.Fatalf("stdout is not a verdict: %v\n%s", err, stdout)
			}
			if v.Verdict != s.verdict || v.PolicyVersion != s.version {
				t.Errorf("verdict %s version %s, want %s %s", v.Verdict, v.PolicyVersion, s.verdict, s.version)
			}
		})
	}
}

// The seed's live-streaming case prints the seed's remedies, in JSON that
// keeps Chinese readable (no \u escapes, no HTML escaping).
func TestPolicyCheckCLIOutput(t *testing.T) {
	in := `{"entity":{"name":"某市123有限公司"},"categories":["社交-直播"],"content":"某营业厅在线自助办理通信类时,实名认证环节需上传身份证正反面和手持身份照片"}`
	code, stdout, _ := runPolicy(t, in, "check", "-")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{`"verdict": "ineligible"`, `"action": "change_entity_and_category"`, "IT科技-基础电信运营商", `"action": "remove_feature"`, "手持身份照片", `"inferred": true`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if strings.Contains(stdout, `\u`) {
		t.Error("output escapes characters")
	}
}

// `policy default` prints a policy that loads back unchanged.
func TestPolicyDefaultCLI(t *testing.T) {
	code, stdout, _ := runPolicy(t, "", "default")
	if code != 0 || stdout != string(eligibility.DefaultPolicy()) {
		t.Fatalf("exit %d, %d bytes", code, len(stdout))
	}
	if _, err := eligibility.Parse([]byte(stdout), "stdout"); err != nil {
		t.Fatal(err)
	}
}
