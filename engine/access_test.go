package engine

import (
	"testing"
)

// The seed's table (seed 003, 三类预设策略的详细区别), row by row, as
// (action, FullAccess, ReadOnly, SelfAccount).
func TestPermissionTableFollowsSeed(t *testing.T) {
	p := NewPolicy()
	A, O, N := ScopeAll, ScopeOwn, ScopeNone
	seed := []struct {
		action          string
		full, ro, self_ Scope
	}{
		{ActDescribeRules, A, A, O},     // 查看自己/所有账号创建的业务流程信息
		{ActCreateRule, A, N, O},        // 创建业务流程(仅可在自己账号下创建)
		{ActModifyRule, A, N, O},        // 修改/停用自己(其他)账号创建的业务流程
		{ActDescribeUsage, A, A, O},     // 查看自己/所有主子账号的计费数据
		{ActDescribeAnalytics, A, A, O}, // 查看自己/所有的数据分析
		{ActDescribeRecords, A, A, O},   // 查看自己/所有账号的验证记录
		{ActManualAudit, A, N, O},       // 审核自己/所有账号下的验证记录
		{ActDescribeKeys, A, A, A},      // 查看创建的密钥
		{ActModifyEncryption, A, N, N},  // 开通加密服务
		{ActDescribeStorage, A, A, A},   // 查看存储路径
		{ActModifyStorage, A, N, N},     // 开通存储服务
		{ActSubscribeReport, A, A, A},   // 生成订阅链接
		{ActDescribeReport, A, A, O},    // 订阅日报展示自己/所有账号的计费统计
		{ActDescribeSettings, A, A, A},  // 查看后付费配置信息
		{ActModifySettings, A, N, N},    // 修改后付费设置
		{ActCallAPI, A, A, A},           // 调用慧眼线上服务接口
	}
	for _, s := range seed {
		for role, want := range map[string]Scope{RoleFullAccess: s.full, RoleReadOnly: s.ro, RoleSelfAccount: s.self_} {
			if got := p.Scope(&User{Name: "u", Role: role}, s.action); got != want {
				t.Errorf("%s %s: scope %v, seed says %v", role, s.action, got, want)
			}
		}
		if r, _ := p.Permission(s.action); !r.FromSeed {
			t.Errorf("%s is a seed row but not marked FromSeed", s.action)
		}
	}
}

// ReadOnly never writes; FullAccess does everything to everyone's items.
func TestPresetRoleInvariants(t *testing.T) {
	p := NewPolicy()
	seen := map[string]bool{}
	for _, r := range PermissionTable() {
		if seen[r.Action] {
			t.Errorf("action %s appears twice", r.Action)
		}
		seen[r.Action] = true
		if r.Full != ScopeAll {
			t.Errorf("FullAccess on %s is %v", r.Action, r.Full)
		}
		if r.Write && r.ReadOnly != ScopeNone && r.Action != ActModifyOwnPassword && r.Action != ActSubscribeReport && r.Action != ActUnsubscribeReport {
			t.Errorf("ReadOnly may write %s", r.Action)
		}
		if r.Self == ScopeAll && r.Write && r.Action != ActModifyOwnPassword && r.Action != ActSubscribeReport {
			t.Errorf("SelfAccount may change everyone's %s", r.Action)
		}
		if r.Feature == "" || r.FeatureEN == "" || r.Area == "" || r.AreaEN == "" {
			t.Errorf("row %s lacks text", r.Action)
		}
	}
	if p.Scope(&User{Role: RoleFullAccess}, "NoSuchAction") != ScopeNone {
		t.Error("unknown action allowed")
	}
	if p.Scope(nil, ActDescribeRules) != ScopeNone {
		t.Error("nil user allowed")
	}
	// The table is fresh on every call: changing one copy changes nothing.
	tab := PermissionTable()
	tab[0].ReadOnly = ScopeNone
	if PermissionTable()[0].ReadOnly != ScopeAll {
		t.Error("PermissionTable shares its rows")
	}
}

func TestCustomPolicy(t *testing.T) {
	p := NewPolicy()
	u := &User{Name: "auditor", Role: "审核员", Actions: []string{"faceid:ConsoleExecuteManualAudit", "faceid:DescribeRecords"}}
	if p.Scope(u, ActManualAudit) != ScopeAll || p.Scope(u, ActDescribeRecords) != ScopeAll {
		t.Error("listed actions refused")
	}
	if p.Scope(u, ActCreateRule) != ScopeNone || p.Scope(u, ActModifyUsers) != ScopeNone {
		t.Error("unlisted action allowed")
	}
	if p.Scope(u, ActModifyOwnPassword) != ScopeAll {
		t.Error("a custom-policy user cannot change its own password")
	}
	star := &User{Role: "ops", Actions: []string{"faceid:*"}}
	if p.Scope(star, ActModifySettings) != ScopeAll {
		t.Error("faceid:* refused")
	}
	none := &User{Role: "nobody"}
	if p.Scope(none, ActDescribeRecords) != ScopeNone {
		t.Error("empty custom policy allowed something")
	}
	if !ActionAllowed([]string{"IdCardVerification"}, "IdCardVerification") || ActionAllowed(nil, "X") {
		t.Error("ActionAllowed")
	}
}

func TestParseCAMPolicy(t *testing.T) {
	known := NewPolicy().Known
	// The seed's example (SaveUserConf is Tencent's, not ours: without the
	// known check it is accepted as written).
	seed := `{"version":"2.0","statement":[{"effect":"allow","action":["faceid:SaveUserConf","faceid:ConsoleExecuteManualAudit"],"resource":"*"}]}`
	acts, err := ParseCAMPolicy([]byte(seed), nil)
	if err != nil || len(acts) != 2 || acts[1] != "faceid:ConsoleExecuteManualAudit" {
		t.Fatalf("seed example: %v %v", acts, err)
	}
	if _, err := ParseCAMPolicy([]byte(seed), known); err == nil {
		t.Error("unknown action accepted with a known check")
	}
	for _, bad := range []string{
		`not json`,
		`{"statement":[]}`,
		`{"statement":[{"effect":"deny","action":["faceid:CreateRule"],"resource":"*"}]}`,
		`{"statement":[{"effect":"allow","action":["faceid:CreateRule"],"resource":"qcs::faceid:::rule/1"}]}`,
		`{"statement":[{"effect":"allow","action":["cvm:RunInstances"],"resource":"*"}]}`,
		`{"statement":[{"effect":"allow","action":[],"resource":"*"}]}`,
		`{"statement":[{"effect":"allow","action":42,"resource":"*"}]}`,
	} {
		if _, err := ParseCAMPolicy([]byte(bad), known); err == nil {
			t.Errorf("accepted %s", bad)
		} else if ErrorCode(err) != CodeInvalidParameterValue {
			t.Errorf("%s: code %s", bad, ErrorCode(err))
		}
	}
	one, err := ParseCAMPolicy([]byte(`{"statement":{"effect":"allow","action":"faceid:CreateRule","resource":"*"}}`), known)
	if err == nil {
		t.Errorf("a statement object instead of a list was accepted: %v", one)
	}
	acts, err = ParseCAMPolicy([]byte(`{"statement":[{"effect":"Allow","action":"faceid:CreateRule","resource":["*"]}]}`), known)
	if err != nil || len(acts) != 1 {
		t.Errorf("single action string: %v %v", acts, err)
	}
}
