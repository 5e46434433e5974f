package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Console roles: the three preset policies of seed 003 (控制台访问管理).
// Any other User.Role is the name of a custom policy whose User.Actions
// list the allowed actions as "faceid:{Action}".
const (
	RoleFullAccess  = "FullAccess"  // QcloudFaceIdFullAccess: everything, everyone's items
	RoleReadOnly    = "ReadOnly"    // QcloudFaceidReadOnlyAccess: sees everything, changes nothing
	RoleSelfAccount = "SelfAccount" // QcloudFaceidSelfAccountAccess: sees and changes only its own items
)

// Scope is how far a grant reaches.
type Scope int

// Scopes, weakest first.
const (
	ScopeNone Scope = iota // refused
	ScopeOwn               // only items the user created (or items of apps it created)
	ScopeAll               // every item
)

func (s Scope) String() string {
	switch s {
	case ScopeOwn:
		return "own"
	case ScopeAll:
		return "all"
	}
	return "none"
}

// MarshalJSON writes the scope as its name.
func (s Scope) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Console actions. They are the names custom policies list as
// "faceid:{Action}"; ConsoleExecuteManualAudit is the seed's own name for
// manual review.
const (
	ActDescribeDashboard    = "DescribeDashboard"
	ActDescribeRules        = "DescribeRules"
	ActCreateRule           = "CreateRule"
	ActModifyRule           = "ModifyRule" // edit and disable
	ActDescribeApps         = "DescribeApps"
	ActCreateApp            = "CreateApp"
	ActDescribeUsage        = "DescribeUsage"
	ActDescribeAnalytics    = "DescribeAnalytics"
	ActDescribeRecords      = "DescribeRecords"
	ActManualAudit          = "ConsoleExecuteManualAudit"
	ActDescribeKeys         = "DescribeEncryptionKeys"
	ActModifyEncryption     = "ModifyEncryption"
	ActDescribeStorage      = "DescribeStorage"
	ActModifyStorage        = "ModifyStorage"
	ActDescribeReport       = "DescribeDailyReport"
	ActSubscribeReport      = "SubscribeDailyReport"
	ActUnsubscribeReport    = "UnsubscribeDailyReport"
	ActDescribeSettings     = "DescribeSettings"
	ActModifySettings       = "ModifySettings"
	ActDescribeGallery      = "DescribeGallery"
	ActModifyGallery        = "ModifyGallery"
	ActDescribeCredentials  = "DescribeCredentials"
	ActModifyCredentials    = "ModifyCredentials"
	ActDescribeAlerts       = "DescribeAlerts"
	ActModifyAlerts         = "ModifyAlerts"
	ActDescribeOpLogs       = "DescribeOpLogs"
	ActDescribeUsers        = "DescribeUsers"
	ActModifyUsers          = "ModifyUsers"
	ActCheckEligibility     = "CheckEligibility"
	ActCounterVerify        = "CounterVerification"
	ActCallAPI              = "CallAPI" // 调用慧眼线上服务接口
	ActModifyOwnPassword    = "ModifyOwnPassword"
	ActDescribeOwnAccount   = "DescribeOwnAccount"
	ActDescribePermissions  = "DescribePermissions"
	ActDescribeCounterState = "DescribeCounter"
)

// Permission is one row of the permission table: a console action and what
// each preset role may do with it.
type Permission struct {
	Area      string `json:"area"`       // console area, Chinese (控制台 > …)
	AreaEN    string `json:"area_en"`    // console area, English
	Feature   string `json:"feature"`    // what the row allows, Chinese
	FeatureEN string `json:"feature_en"` // English
	Action    string `json:"action"`
	Write     bool   `json:"write"` // changes something
	Full      Scope  `json:"full_access"`
	ReadOnly  Scope  `json:"read_only"`
	Self      Scope  `json:"self_account"`
	// FromSeed marks rows taken from seed 003's table; the others extend it
	// to pages the seed's console does not have, in the same spirit.
	FromSeed bool `json:"from_seed"`
}

// PermissionTable is seed 003's table of the three preset policies
// (三类预设策略的详细区别) as data, one row per console action; the seed's
// "view own / view all" pairs become one row whose scope is own or all.
// It returns a new slice on every call.
func PermissionTable() []Permission {
	A, O, N := ScopeAll, ScopeOwn, ScopeNone
	row := func(area, areaEN, feat, featEN, act string, write bool, full, ro, self Scope, seed bool) Permission {
		return Permission{area, areaEN, feat, featEN, act, write, full, ro, self, seed}
	}
	return []Permission{
		row("控制台 > 自助接入", "Console > Flows", "查看业务流程信息", "View flows (RuleId)", ActDescribeRules, false, A, A, O, true),
		row("控制台 > 自助接入", "Console > Flows", "创建业务流程(仅可在自己账号下创建)", "Create flows (under one's own account)", ActCreateRule, true, A, N, O, true),
		row("控制台 > 自助接入", "Console > Flows", "修改/停用业务流程", "Edit/disable flows", ActModifyRule, true, A, N, O, true),
		row("控制台 > 自助接入", "Console > Flows", "查看应用", "View apps", ActDescribeApps, false, A, A, O, false),
		row("控制台 > 自助接入", "Console > Flows", "创建应用", "Create apps", ActCreateApp, true, A, N, O, false),
		row("控制台 > 计费统计", "Console > Usage", "查看调用量数据", "View usage statistics", ActDescribeUsage, false, A, A, O, true),
		row("控制台 > 数据分析", "Console > Analytics", "查看数据分析", "View analytics", ActDescribeAnalytics, false, A, A, O, true),
		row("控制台 > 概览", "Console > Dashboard", "查看概览", "View the dashboard", ActDescribeDashboard, false, A, A, O, false),
		row("控制台 > 验证记录", "Console > Records", "查看验证记录", "View verification records", ActDescribeRecords, false, A, A, O, true),
		row("控制台 > 人工审核", "Console > Manual review", "审核验证记录", "Review verification records", ActManualAudit, true, A, N, O, true),
		row("控制台 > 数据加密服务", "Console > Encryption", "查看创建的密钥", "View the public keys", ActDescribeKeys, false, A, A, A, true),
		row("控制台 > 数据加密服务", "Console > Encryption", "开通加密服务", "Manage the encryption service", ActModifyEncryption, true, A, N, N, true),
		row("控制台 > 数据存储服务", "Console > Storage", "查看存储路径", "View storage", ActDescribeStorage, false, A, A, A, true),
		row("控制台 > 数据存储服务", "Console > Storage", "开通存储服务", "Manage storage", ActModifyStorage, true, A, N, N, true),
		row("控制台 > 订阅日报", "Console > Daily report", "订阅日报展示的调用统计", "Daily report statistics", ActDescribeReport, false, A, A, O, true),
		row("控制台 > 订阅日报", "Console > Daily report", "生成订阅", "Subscribe to the daily report", ActSubscribeReport, true, A, A, A, true),
		row("控制台 > 订阅日报", "Console > Daily report", "解除订阅", "Unsubscribe from the daily report", ActUnsubscribeReport, true, A, A, O, true),
		row("控制台 > 后付费设置", "Console > Settings", "查看配置信息", "View settings", ActDescribeSettings, false, A, A, A, true),
		row("控制台 > 后付费设置", "Console > Settings", "修改设置(保留期限、阈值)", "Change settings (retention, thresholds)", ActModifySettings, true, A, N, N, true),
		row("慧眼服务接口", "API", "调用慧眼线上服务接口", "Call the API", ActCallAPI, false, A, A, A, true),
		row("控制台 > 人像库", "Console > Gallery", "查看人像库", "View the gallery", ActDescribeGallery, false, A, A, O, false),
		row("控制台 > 人像库", "Console > Gallery", "添加/删除/导入人像", "Add/remove/import identities", ActModifyGallery, true, A, N, O, false),
		row("控制台 > API 密钥", "Console > Credentials", "查看 SecretId", "View SecretIds", ActDescribeCredentials, false, A, A, O, false),
		row("控制台 > API 密钥", "Console > Credentials", "创建/吊销密钥", "Create/revoke credentials", ActModifyCredentials, true, A, N, O, false),
		row("控制台 > 监控告警", "Console > Alerts", "查看告警规则与历史", "View alert rules and history", ActDescribeAlerts, false, A, A, A, false),
		row("控制台 > 监控告警", "Console > Alerts", "修改告警规则与通知渠道", "Change alert rules and channels", ActModifyAlerts, true, A, N, N, false),
		row("控制台 > 操作日志", "Console > Operation logs", "查看操作日志", "Search operation logs", ActDescribeOpLogs, false, A, A, O, false),
		row("控制台 > 访问管理", "Console > Users", "查看用户与角色", "View users and roles", ActDescribeUsers, false, A, A, N, false),
		row("控制台 > 访问管理", "Console > Users", "管理用户与角色", "Manage users and roles", ActModifyUsers, true, A, N, N, false),
		row("控制台 > 访问管理", "Console > Users", "查看权限表", "View the permission table", ActDescribePermissions, false, A, A, A, false),
		row("控制台 > 资质自查", "Console > Eligibility", "小程序人脸核身资质自查", "Check mini-program eligibility", ActCheckEligibility, false, A, A, A, false),
		row("控制台 > 柜台核验", "Console > Counter", "柜台核验(创建验证记录)", "Counter verification (creates records)", ActCounterVerify, true, A, N, O, false),
		row("控制台 > 柜台核验", "Console > Counter", "查看柜台核验状态", "View counter verification state", ActDescribeCounterState, false, A, A, O, false),
		row("控制台 > 账号", "Console > Account", "查看自己的账号", "View one's own account", ActDescribeOwnAccount, false, A, A, A, false),
		row("控制台 > 账号", "Console > Account", "修改自己的密码", "Change one's own password", ActModifyOwnPassword, true, A, A, A, false),
	}
}

// Policy answers access questions for console users. It is immutable and
// safe for concurrent use.
type Policy struct {
	byAction map[string]Permission
}

// NewPolicy compiles the permission table.
func NewPolicy() *Policy {
	p := &Policy{byAction: map[string]Permission{}}
	for _, r := range PermissionTable() {
		p.byAction[r.Action] = r
	}
	return p
}

// Known reports whether action is a console action of the table.
func (p *Policy) Known(action string) bool { _, ok := p.byAction[action]; return ok }

// Permission returns the table row of action.
func (p *Policy) Permission(action string) (Permission, bool) {
	r, ok := p.byAction[action]
	return r, ok
}

// Scope is how far u may perform action. Preset roles follow the table; a
// custom policy grants the actions it lists (resource "*", so every item,
// as Tencent's interface-level policies do) plus one's own account; an
// unknown action is refused.
func (p *Policy) Scope(u *User, action string) Scope {
	r, ok := p.byAction[action]
	if !ok || u == nil {
		return ScopeNone
	}
	switch u.Role {
	case RoleFullAccess:
		return r.Full
	case RoleReadOnly:
		return r.ReadOnly
	case RoleSelfAccount:
		return r.Self
	}
	if action == ActDescribeOwnAccount || action == ActModifyOwnPassword || action == ActDescribePermissions {
		return ScopeAll
	}
	if ActionAllowed(u.Actions, action) {
		return ScopeAll
	}
	return ScopeNone
}

// ActionAllowed reports whether a custom policy's action list admits
// action. Entries are "faceid:{Action}" (the "faceid:" prefix may be left
// out) or "faceid:*". An empty list admits nothing; credentials treat an
// empty list as "all" themselves.
func ActionAllowed(list []string, action string) bool {
	return slices.ContainsFunc(list, func(a string) bool {
		a = strings.TrimPrefix(strings.TrimSpace(a), "faceid:")
		return a == "*" || a == action
	})
}

// PresetRole reports whether role is one of the three preset roles.
func PresetRole(role string) bool {
	return role == RoleFullAccess || role == RoleReadOnly || role == RoleSelfAccount
}

// camPolicy is Tencent CAM's policy syntax (seed 003, 自定义策略语法).
type camPolicy struct {
	Version   string `json:"version"`
	Statement []struct {
		Effect   string          `json:"effect"`
		Action   json.RawMessage `json:"action"`
		Resource json.RawMessage `json:"resource"`
	} `json:"statement"`
}

// ParseCAMPolicy reads a custom policy in Tencent's CAM syntax
// ({"version":"2.0","statement":[{"effect":"allow","action":["faceid:X"],"resource":"*"}]})
// and returns its allowed actions as "faceid:{Action}". Only "allow"
// statements on resource "*" are accepted: Heshen, like FaceID, authorises
// by interface only. known, if not nil, rejects action names it does not
// know.
func ParseCAMPolicy(data []byte, known func(action string) bool) ([]string, error) {
	var p camPolicy
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, Errorf(CodeInvalidParameterValue, "策略JSON格式错误", "policy is not valid JSON: %v", err)
	}
	if len(p.Statement) == 0 {
		return nil, Errorf(CodeInvalidParameterValue, "策略没有语句", "policy has no statement")
	}
	var out []string
	for i, st := range p.Statement {
		if !strings.EqualFold(st.Effect, "allow") {
			return nil, Errorf(CodeInvalidParameterValue, "仅支持 effect 为 allow", "statement %d: effect must be \"allow\"", i)
		}
		res, err := stringOrList(st.Resource)
		if err != nil || len(res) != 1 || res[0] != "*" {
			return nil, Errorf(CodeInvalidParameterValue, "resource 必须为 *", "statement %d: resource must be \"*\" (authorisation is per interface)", i)
		}
		acts, err := stringOrList(st.Action)
		if err != nil || len(acts) == 0 {
			return nil, Errorf(CodeInvalidParameterValue, "action 必须是接口名列表", "statement %d: action must be a list of \"faceid:{Action}\"", i)
		}
		for _, a := range acts {
			name, ok := strings.CutPrefix(a, "faceid:")
			if !ok || name == "" || strings.ContainsAny(name, " \t\n") {
				return nil, Errorf(CodeInvalidParameterValue, "action 格式应为 faceid:{接口名}", "statement %d: %q is not \"faceid:{Action}\"", i, a)
			}
			if name != "*" && known != nil && !known(name) {
				return nil, Errorf(CodeInvalidParameterValue, "未知的接口名", "statement %d: unknown action %q", i, name)
			}
			if !slices.Contains(out, "faceid:"+name) {
				out = append(out, "faceid:"+name)
			}
		}
	}
	return out, nil
}

func stringOrList(raw json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("want a string or a list of strings")
	}
	return l, nil
}
