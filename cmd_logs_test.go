package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"heshen/engine"
	"heshen/store/oplog"
)

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLogsCLI(t *testing.T) {
	dir := t.TempDir()
	l, err := oplog.Open(dir, oplog.Options{SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 30 {
		desc := "请求成功"
		code := "0"
		if i%10 == 3 {
			desc, code = "姓名格式错误", "-3"
		}
		l.Append(&engine.OpEntry{Time: base.Add(time.Duration(i) * time.Hour), Kind: "api", AppID: fmt.Sprintf("app%d", i%2),
			Action: "IdCardVerification", RequestID: fmt.Sprintf("req-%02d", i), BizToken: "bt-1", Code: code,
			Request:  []byte(`{"IdCard":"11010519900307123X","Name":"张三"}`),
			Response: []byte(`{"Response":{"Result":"` + code + `","Description":"` + desc + `"}}`)})
	}
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Close() // the CLI needs the files to itself; it catches the index up

	var res struct {
		Total int               `json:"total"`
		Hits  []json.RawMessage `json:"hits"`
	}
	code, out, stderr := runCmd(t, "logs", "search", "--data", dir, "--q", "姓名 错误", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Total != 3 || len(res.Hits) != 3 {
		t.Fatalf("total %d hits %d, want 3", res.Total, len(res.Hits))
	}
	if !strings.Contains(string(res.Hits[0]), `"request_id": "req-23"`) || !strings.Contains(string(res.Hits[0]), `"Name": "张*"`) ||
		strings.Contains(out, "11010519900307123X") {
		t.Errorf("first hit = %s", res.Hits[0])
	}

	code, out, _ = runCmd(t, "logs", "search", "--data", dir, "--from", "2025-03-01T12:00:00Z", "--to", "2025-03-01T18:00:00Z",
		"--app", "app1", "--action", "IdCardVerification", "--code", "-3", "--biz-token", "bt-1", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Total != 1 || !strings.Contains(string(res.Hits[0]), "req-03") {
		t.Errorf("filtered search: exit %d, %s", code, out)
	}
	code, out, _ = runCmd(t, "logs", "search", "--data", dir, "--request-id", "req-07", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Total != 1 {
		t.Errorf("request id search: exit %d, %s", code, out)
	}
	code, out, _ = runCmd(t, "logs", "search", "--data", dir, "--page", "3", "--size", "12", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Total != 30 || len(res.Hits) != 6 {
		t.Errorf("page 3: exit %d, total %d, %d hits", code, res.Total, len(res.Hits))
	}
	code, out, _ = runCmd(t, "logs", "search", "--data", dir, "--q", "不存在", "--json")
	if code != 0 || strings.TrimSpace(out) != "{\n  \"total\": 0,\n  \"hits\": []\n}" {
		t.Errorf("empty search: exit %d, %q", code, out)
	}
	code, out, _ = runCmd(t, "logs", "search", "--data", dir, "--facets", "--size", "2")
	if code != 0 || !strings.Contains(out, "2 of 30 (page 1)") || !strings.Contains(out, "code: 0=27 -3=3") {
		t.Errorf("table output: exit %d\n%s", code, out)
	}

	code, out, stderr = runCmd(t, "logs", "reindex", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "indexed 30 entries") {
		t.Errorf("reindex: exit %d, %q %q", code, out, stderr)
	}

	for _, bad := range [][]string{
		{"logs", "search", "--data", dir, "--from", "yesterday"},
		{"logs", "search", "--data", dir, "--size", "0"},
		{"logs", "frobnicate"},
		{"logs"},
	} {
		if code, _, stderr := runCmd(t, bad...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
	}
	if code, _, stderr := runCmd(t, "logs", "search", "--data", t.TempDir()); code != 1 || !strings.Contains(stderr, "no operation log") {
		t.Errorf("missing log: exit %d, %q", code, stderr)
	}
}

func TestParseLogTime(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.Local)
	tests := []struct {
		in   string
		end  bool
		want time.Time
	}{
		{"2025-03-01T09:00:00+08:00", false, time.Date(2025, 3, 1, 1, 0, 0, 0, time.UTC)},
		{"2025-03-01", false, time.Date(2025, 3, 1, 0, 0, 0, 0, time.Local)},
		{"2025-03-01", true, time.Date(2025, 3, 2, 0, 0, 0, 0, time.Local)},
		{"2025-03-01 09:30", false, time.Date(2025, 3, 1, 9, 30, 0, 0, time.Local)},
		{"24h", false, now.Add(-24 * time.Hour)},
		{"-7d", false, now.AddDate(0, 0, -7)},
	}
	for _, tt := range tests {
		got, err := parseLogTime(tt.in, now, tt.end)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseLogTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}
