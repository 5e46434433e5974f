package eligibility_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"heshen/engine"
	"heshen/engine/eligibility"
)

func mustDefault(t testing.TB) *eligibility.Checker {
	t.Helper()
	c, err := eligibility.Load("")
	if err != nil {
		t.Fatalf("embedded policy: %v", err)
	}
	return c
}

// oks is the four findings in order entity, category, content, consistency.
type oks [4]bool

func findingOKs(v eligibility.Verdict) oks {
	f := v.Findings
	return oks{f.Entity.OK, f.Category.OK, f.Content.OK, f.Consistency.OK}
}

func actions(v eligibility.Verdict) []string {
	out := []string{}
	for _, r := range v.Remediation {
		out = append(out, r.Action)
	}
	return out
}

type scenario struct {
	name       string
	in         eligibility.Input
	verdict    string
	entityType string
	inferred   bool
	findings   oks
	remedies   []string
	check      func(t *testing.T, v eligibility.Verdict)
}

func entity(name, typ string) engine.Entity { return engine.Entity{Name: name, Type: typ} }

func runScenarios(t *testing.T, c *eligibility.Checker, scenarios []scenario) {
	t.Helper()
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%02d_%s", i, s.name), func(t *testing.T) {
			if err := c.Validate(s.in); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			v := c.Check(s.in)
			if v.Verdict != s.verdict {
				t.Errorf("verdict = %s, want %s (%s)", v.Verdict, s.verdict, v.Summary)
			}
			if v.Entity.Type != s.entityType || v.Entity.Inferred != s.inferred {
				t.Errorf("entity = %s inferred=%v (from %q), want %s inferred=%v", v.Entity.Type, v.Entity.Inferred, v.Entity.InferredFrom, s.entityType, s.inferred)
			}
			if got := findingOKs(v); got != s.findings {
				t.Errorf("findings ok = %v, want %v\n%+v", got, s.findings, v.Findings)
			}
			if got := actions(v); !slices.Equal(got, s.remedies) {
				t.Errorf("remediation = %v, want %v", got, s.remedies)
			}
			if v.PolicyVersion != c.Version() || v.PolicyVersion == "" {
				t.Errorf("policy_version = %q, want %q", v.PolicyVersion, c.Version())
			}
			for _, f := range []eligibility.Finding{v.Findings.Entity, v.Findings.Category, v.Findings.Content, v.Findings.Consistency} {
				if f.Reason == "" || f.ReasonEN == "" {
					t.Errorf("finding without reason: %+v", f)
				}
			}
			if s.check != nil {
				s.check(t, v)
			}
		})
	}
}

// The three worked cases of seed 000, with the seed's outcome and remedies.
func TestSeedCases(t *testing.T) {
	c := mustDefault(t)
	runScenarios(t, c, []scenario{
		{
			name: "positive_government_hall",
			in: eligibility.Input{
				Entity:     entity("政务服务数据管理局", ""),
				Categories: eligibility.List{"政务民生-交通违法", "政务民生-政务服务大厅", "政务民生-医疗", "政务民生-祭扫", "政务民生-公积金"},
				Content:    "提供政务民生服务大厅、政务民生医疗等政务服务,在登录页面涉及“人脸识别登录,需录制、采集带有人脸的视频用于验证办理人身份信息,属于人脸核身功能范畴",
			},
			verdict: eligibility.Eligible, entityType: "government", inferred: true,
			findings: oks{true, true, true, true},
			remedies: []string{},
			check: func(t *testing.T, v eligibility.Verdict) {
				if v.Entity.InferredFrom != "局" {
					t.Errorf("inferred from %q, want 局", v.Entity.InferredFrom)
				}
				if len(v.Routes) != 2 || v.Routes[0].ID != "wechat" {
					t.Errorf("routes = %+v, want wechat and tencentcloud", v.Routes)
				}
				wantTrigger(t, v, "content", "人脸识别", eligibility.KindFace)
			},
		},
		{
			name: "negative_tech_company_private_medical",
			in: eligibility.Input{
				Entity:     entity("某市ABC科技有限公司", ""),
				Categories: eligibility.List{"医疗-私立医疗机构"},
				Content:    "病例复印和邮寄服务,申请时需填姓名、身份证信息,同时需上传患者身份证正反面和手持身份照片",
			},
			// Seed: only the entity is out of scope; remedies ① change entity
			// to a medical institution ② remove the handheld-ID upload.
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, true, true, true},
			remedies: []string{eligibility.ActionChangeEntity, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if got := v.Remediation[0].EntityTypes; !slices.Equal(got, []string{"private_hospital"}) {
					t.Errorf("change entity to %v, want private_hospital", got)
				}
				if !strings.Contains(v.Remediation[0].Reason, "医疗机构") {
					t.Errorf("remedy reason %q does not name a medical institution", v.Remediation[0].Reason)
				}
				if got := v.Remediation[1].Features; !slices.Contains(got, "手持身份照片") {
					t.Errorf("remove features %v, want the handheld-ID photo", got)
				}
				if v.Categories[0].Category != "医疗服务-三级私立医疗机构" {
					t.Errorf("category row = %q", v.Categories[0].Category)
				}
				wantTrigger(t, v, "content", "身份证正反面", eligibility.KindMaterial)
			},
		},
		{
			name: "negative_live_streaming_vs_telecom",
			in: eligibility.Input{
				Entity:     entity("某市123有限公司", ""),
				Categories: eligibility.List{"社交-直播"},
				Content:    "某营业厅在线自助办理通信类时,实名认证环节需上传身份证正反面和手持身份照片",
			},
			// Seed: entity out of scope; the category is open but the content
			// is not live streaming. Remedies ① telecom entity +
			// IT科技-基础电信运营商 ② remove the handheld-ID upload.
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, true, true, false},
			remedies: []string{eligibility.ActionChangeEntityCategory, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				r := v.Remediation[0]
				if !slices.Equal(r.EntityTypes, []string{"telecom"}) || !slices.Equal(r.Categories, []string{"IT科技-基础电信运营商"}) {
					t.Errorf("remedy = %+v, want telecom + IT科技-基础电信运营商", r)
				}
				if v.ContentCategories[0] != "IT科技-基础电信运营商" {
					t.Errorf("content reads as %v", v.ContentCategories)
				}
				if !strings.Contains(v.Findings.Consistency.Reason, "社交-直播") {
					t.Errorf("consistency reason %q does not name the declared category", v.Findings.Consistency.Reason)
				}
				wantTrigger(t, v, "content", "手持身份照片", eligibility.KindMaterial)
			},
		},
	})
}

// wantTrigger checks a trigger exists and that its rune offsets point at it.
func wantTrigger(t *testing.T, v eligibility.Verdict, field, phrase, kind string) {
	t.Helper()
	for _, tr := range v.Triggers {
		if tr.Field == field && tr.Phrase == phrase {
			if tr.Kind != kind {
				t.Errorf("trigger %q kind = %s, want %s", phrase, tr.Kind, kind)
			}
			if tr.End-tr.Start != len([]rune(phrase)) {
				t.Errorf("trigger %q span %d..%d", phrase, tr.Start, tr.End)
			}
			return
		}
	}
	t.Errorf("no trigger %q in %s; got %+v", phrase, field, v.Triggers)
}

func TestScenarios(t *testing.T) {
	c := mustDefault(t)
	runScenarios(t, c, []scenario{
		{
			name: "telecom_operator_sim_video",
			// Users' comment: a carrier's SIM real-name check records a video.
			in: eligibility.Input{
				Entity:     entity("中国联合网络通信有限公司某市分公司", ""),
				Categories: eligibility.List{"IT科技-基础电信运营商"},
				Content:    "SIM卡实名认证:用户拍了个视频上传到运营商侧完成入网实名",
			},
			verdict: eligibility.Eligible, entityType: "telecom", inferred: true,
			findings: oks{true, true, true, true}, remedies: []string{},
			check: func(t *testing.T, v eligibility.Verdict) {
				wantTrigger(t, v, "content", "视频上传", eligibility.KindVideo)
				if len(v.Routes) == 0 {
					t.Error("eligible verdict without routes")
				}
			},
		},
		{
			name: "agent_company_sim_video",
			in: eligibility.Input{
				Entity:     entity("某某通信代理有限公司", ""),
				Categories: eligibility.List{"IT科技-基础电信运营商"},
				Content:    "手机卡开卡实名认证,需录制视频",
			},
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, true, true, true},
			remedies: []string{eligibility.ActionChangeEntity, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !slices.Equal(v.Remediation[0].EntityTypes, []string{"telecom"}) {
					t.Errorf("change entity to %v", v.Remediation[0].EntityTypes)
				}
				wantTrigger(t, v, "content", "录制视频", eligibility.KindVideo)
			},
		},
		{
			name: "company_face_attendance",
			// Users' comment: "只是人脸考勤,不需要身份核验" is still face collection.
			in: eligibility.Input{
				Entity:     entity("某某软件科技有限公司", ""),
				Categories: eligibility.List{"工具-办公"},
				Content:    "企业员工人脸考勤,上下班刷脸打卡,不需要身份核验",
			},
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, false, false, false},
			remedies: []string{eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !strings.Contains(v.Findings.Content.Reason, "考勤") {
					t.Errorf("content reason %q does not explain attendance", v.Findings.Content.Reason)
				}
				wantTrigger(t, v, "content", "人脸考勤", eligibility.KindFace)
				wantTrigger(t, v, "content", "刷脸", eligibility.KindFace)
			},
		},
		{
			name: "public_hospital_staff_attendance",
			// An open entity and category do not open attendance.
			in: eligibility.Input{
				Entity:     entity("某市第一人民医院", ""),
				Categories: eligibility.List{"医疗-公立医疗机构"},
				Content:    "医院职工人脸考勤与排班管理",
			},
			verdict: eligibility.Ineligible, entityType: "public_hospital", inferred: true,
			findings: oks{true, true, false, true},
			remedies: []string{eligibility.ActionRemoveFeature},
		},
		{
			name: "feature_id_attendance",
			in: eligibility.Input{
				Entity:     entity("某某学校", ""),
				Categories: eligibility.List{"教育-学历教育(学校)"},
				Content:    "学生在校管理",
				Features:   eligibility.List{"face_attendance"},
			},
			verdict: eligibility.Ineligible, entityType: "school", inferred: true,
			findings: oks{true, true, false, true},
			remedies: []string{eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				wantTrigger(t, v, "features[0]", "face_attendance", eligibility.KindFace)
			},
		},
		{
			name: "training_student_photo",
			// Users' comment: "学员上传个人照片都不行?"
			in: eligibility.Input{
				Entity:     entity("某某职业技能培训学校有限公司", ""),
				Categories: eligibility.List{"教育-职业培训"},
				Content:    "报名职业技能培训,学员上传个人照片用于制作学员证",
			},
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, false, false, false},
			remedies: []string{eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				wantTrigger(t, v, "content", "上传个人照片", eligibility.KindPhoto)
			},
		},
		{
			name: "social_profile_photo",
			// Users' comment: a social platform's profile pictures were flagged.
			in: eligibility.Input{
				Entity:     entity("某某网络科技有限公司", ""),
				Categories: eligibility.List{"社交-社区/论坛"},
				Content:    "兴趣社区,用户可上传个人主页图片和头像",
			},
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, false, false, false},
			remedies: []string{eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				wantTrigger(t, v, "content", "个人主页图片", eligibility.KindPhoto)
				if !strings.Contains(v.Findings.Content.Reason, "个人照片") {
					t.Errorf("content reason = %q", v.Findings.Content.Reason)
				}
			},
		},
		{
			name: "photo_upload_without_id",
			// Users' comment: "只是上传照片,但是不要求带身份证".
			in: eligibility.Input{
				Entity:     entity("某某摄影工作室", ""),
				Categories: eligibility.List{"工具-图片"},
				Content:    "摄影比赛投稿,上传照片参与评选,不要求带身份证",
			},
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, false, false, false},
			remedies: []string{eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				wantTrigger(t, v, "content", "上传照片", eligibility.KindPhoto)
			},
		},
		{
			name: "person_inferred_from_name",
			in: eligibility.Input{
				Entity:     entity("张三", ""),
				Categories: eligibility.List{"政务民生-公积金"},
				Content:    "公积金查询,刷脸登录",
			},
			verdict: eligibility.Ineligible, entityType: "individual", inferred: true,
			findings: oks{false, true, true, true},
			remedies: []string{eligibility.ActionChangeEntity, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !slices.Equal(v.Remediation[0].EntityTypes, []string{"government"}) {
					t.Errorf("change entity to %v", v.Remediation[0].EntityTypes)
				}
			},
		},
		{
			name: "person_declared",
			in: eligibility.Input{
				Entity:     entity("欧阳·娜娜的小店", "个人"),
				Categories: eligibility.List{"金融业-保险"},
				Content:    "保险投保需人脸识别",
			},
			verdict: eligibility.Ineligible, entityType: "individual", inferred: false,
			findings: oks{false, true, true, true},
			remedies: []string{eligibility.ActionChangeEntity, eligibility.ActionRemoveFeature},
		},
		{
			name: "person_no_faces",
			in: eligibility.Input{
				Entity:     entity("李四", "individual"),
				Categories: eligibility.List{"工具-备忘录"},
				Content:    "记录每日待办事项",
			},
			verdict: eligibility.NotApplicable, entityType: "individual",
			findings: oks{false, false, false, false}, remedies: []string{},
		},
		{
			name: "government_no_faces",
			in: eligibility.Input{
				Entity:     entity("某市住房公积金管理中心", ""),
				Categories: eligibility.List{"政务民生-公积金"},
				Content:    "公积金余额与缴存明细查询",
			},
			verdict: eligibility.NotApplicable, entityType: "government", inferred: true,
			findings: oks{true, true, true, true}, remedies: []string{},
			check: func(t *testing.T, v eligibility.Verdict) {
				if len(v.Triggers) != 0 || len(v.Routes) != 0 {
					t.Errorf("triggers %v routes %v", v.Triggers, v.Routes)
				}
			},
		},
		{
			name: "bank_with_government_category",
			in: eligibility.Input{
				Entity:     entity("中国工商银行股份有限公司某市分行", ""),
				Categories: eligibility.List{"政务民生-社保"},
				Content:    "银行卡线上开户,人脸识别核验本人",
			},
			verdict: eligibility.Ineligible, entityType: "bank", inferred: true,
			findings: oks{false, true, true, false},
			remedies: []string{eligibility.ActionChangeCategory, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !slices.Equal(v.Remediation[0].Categories, []string{"金融业-银行"}) {
					t.Errorf("change category to %v", v.Remediation[0].Categories)
				}
				if !strings.Contains(v.Findings.Entity.Reason, "政府机关/事业单位") {
					t.Errorf("entity reason %q does not say who the category is for", v.Findings.Entity.Reason)
				}
			},
		},
		{
			name: "government_with_closed_extra_category",
			in: eligibility.Input{
				Entity:     entity("某区人力资源和社会保障局", "government"),
				Categories: eligibility.List{"政务民生-社保", "工具-信息查询"},
				Content:    "社保待遇资格认证,刷脸完成",
			},
			verdict: eligibility.Ineligible, entityType: "government",
			findings: oks{true, false, true, true},
			remedies: []string{eligibility.ActionChangeCategory, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !slices.Equal(v.Remediation[0].Categories, []string{"政务民生-*"}) {
					t.Errorf("keep categories %v", v.Remediation[0].Categories)
				}
				if v.Categories[1].Open || v.Categories[1].Category != "" {
					t.Errorf("工具-信息查询 reported as %+v", v.Categories[1])
				}
			},
		},
		{
			name: "government_content_mismatch",
			in: eligibility.Input{
				Entity:     entity("某市交通运输局", ""),
				Categories: eligibility.List{"政务民生-交通违法"},
				Content:    "直播带货,主播开播前需人脸认证",
			},
			verdict: eligibility.Ineligible, entityType: "government", inferred: true,
			findings: oks{true, true, true, false},
			remedies: []string{eligibility.ActionRemoveFeature},
		},
		{
			name: "public_hospital_in_private_category",
			in: eligibility.Input{
				Entity:     entity("某市中医院", ""),
				Categories: eligibility.List{"医疗-私立医疗机构"},
				Content:    "预约挂号,就诊前刷脸核验患者身份",
			},
			verdict: eligibility.Ineligible, entityType: "public_hospital", inferred: true,
			findings: oks{false, true, true, true},
			remedies: []string{eligibility.ActionChangeCategory, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !slices.Equal(v.Remediation[0].Categories, []string{"医疗-公立医疗机构"}) {
					t.Errorf("change category to %v", v.Remediation[0].Categories)
				}
			},
		},
		{
			name: "private_tier3_hospital",
			in: eligibility.Input{
				Entity:     entity("某某国际医院有限公司", ""),
				Categories: eligibility.List{"医疗服务 › 三级私立医疗机构"},
				Content:    "互联网复诊开药,活体检测确认患者本人",
			},
			verdict: eligibility.Eligible, entityType: "private_hospital", inferred: true,
			findings: oks{true, true, true, true}, remedies: []string{},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !strings.Contains(v.Findings.Entity.Reason, "三级") {
					t.Errorf("entity reason %q does not mention the tier-3 qualification", v.Findings.Entity.Reason)
				}
			},
		},
		{
			name: "eligible_but_self_collected_photos",
			// Review asks eligible mini-programs to verify through the native
			// interface instead of collecting ID and bare-head photos.
			in: eligibility.Input{
				Entity:     entity("某市公安局出入境管理支队", ""),
				Categories: eligibility.List{"政务民生-出入境"},
				Content:    "出入境证件办理,上传身份证照片和免冠照片",
			},
			verdict: eligibility.Eligible, entityType: "government", inferred: true,
			findings: oks{true, true, true, true},
			remedies: []string{eligibility.ActionUseNativeInterface},
			check: func(t *testing.T, v eligibility.Verdict) {
				if got := v.Remediation[0].Features; !slices.Equal(got, []string{"身份证照片", "免冠照片"}) {
					t.Errorf("features %v", got)
				}
			},
		},
		{
			name: "tencentcloud_only_route",
			in: eligibility.Input{
				Entity:     entity("某某直播平台运营有限公司", "live_platform"),
				Categories: eligibility.List{"社交-直播"},
				Content:    "主播开播前进行人脸核身",
			},
			verdict: eligibility.Eligible, entityType: "live_platform",
			findings: oks{true, true, true, true}, remedies: []string{},
			check: func(t *testing.T, v eligibility.Verdict) {
				if len(v.Routes) != 1 || v.Routes[0].ID != "tencentcloud" {
					t.Errorf("routes = %+v, want tencentcloud only", v.Routes)
				}
			},
		},
		{
			name: "unknown_entity_name",
			in: eligibility.Input{
				Entity:     entity("ACME", ""),
				Categories: eligibility.List{"金融业-银行"},
				Content:    "开户刷脸",
			},
			verdict: eligibility.Ineligible, entityType: "",
			findings: oks{false, true, true, true},
			remedies: []string{eligibility.ActionChangeEntity, eligibility.ActionRemoveFeature},
			check: func(t *testing.T, v eligibility.Verdict) {
				if !strings.Contains(v.Findings.Entity.Reason, "entity.type") {
					t.Errorf("entity reason %q does not ask for entity.type", v.Findings.Entity.Reason)
				}
			},
		},
		{
			name: "closed_category_garbled_text",
			in: eligibility.Input{
				Entity:     entity("某某科技有限公司", ""),
				Categories: eligibility.List{"---", "asdf-qwer"},
				Content:    "qwertyuiop 人脸 zxcvbnm",
			},
			verdict: eligibility.Ineligible, entityType: "company", inferred: true,
			findings: oks{false, false, false, false},
			remedies: []string{eligibility.ActionRemoveFeature},
		},
		{
			name: "bare_primary_category_and_features",
			in: eligibility.Input{
				Entity:     entity("某某快递有限公司", ""),
				Categories: eligibility.List{"快递业与邮政"},
				Content:    "快递寄件实名",
				Features:   eligibility.List{"handheld_id_photo", "定位", "拍摄视频"},
			},
			verdict: eligibility.Eligible, entityType: "logistics", inferred: true,
			findings: oks{true, true, true, true},
			remedies: []string{eligibility.ActionUseNativeInterface},
			check: func(t *testing.T, v eligibility.Verdict) {
				wantTrigger(t, v, "features[0]", "handheld_id_photo", eligibility.KindMaterial)
				wantTrigger(t, v, "features[2]", "拍摄视频", eligibility.KindVideo)
				if len(v.Triggers) != 2 {
					t.Errorf("triggers = %+v, want 2 (定位 is not one)", v.Triggers)
				}
			},
		},
	})
}

// Every open category row passes with an entity it admits and content in
// its own words.
func TestEveryCategoryRow(t *testing.T) {
	c := mustDefault(t)
	p := c.Policy()
	routesSeen := map[string]bool{}
	for i, row := range p.Categories {
		for _, typ := range row.Entities {
			t.Run(fmt.Sprintf("%02d_%s_%s", i, row.Name, typ), func(t *testing.T) {
				cat := strings.Replace(row.Name, "*", "任意子类目", 1)
				in := eligibility.Input{
					Entity:     entity("某某单位", typ),
					Categories: eligibility.List{cat},
					Content:    "提供" + row.Keywords[0] + "服务,办理时需人脸识别核验本人",
				}
				v := c.Check(in)
				if v.Verdict != eligibility.Eligible {
					t.Fatalf("verdict %s: %+v", v.Verdict, v.Findings)
				}
				if v.Categories[0].Category != row.Name {
					t.Errorf("matched row %q, want %q", v.Categories[0].Category, row.Name)
				}
				for _, r := range v.Routes {
					routesSeen[r.ID] = true
				}
				// The same row under an entity type it does not admit fails on
				// the entity and offers a fix.
				in.Entity.Type = "company"
				v = c.Check(in)
				if v.Verdict != eligibility.Ineligible || v.Findings.Entity.OK {
					t.Errorf("company: verdict %s entity ok %v", v.Verdict, v.Findings.Entity.OK)
				}
				if len(v.Remediation) < 2 {
					t.Errorf("company: remediation %v", actions(v))
				}
			})
		}
		for _, a := range row.Aliases {
			in := eligibility.Input{Entity: entity("x", row.Entities[0]), Categories: eligibility.List{a}, Content: row.Keywords[0]}
			if got := c.Check(in).Categories[0].Category; got != row.Name {
				t.Errorf("alias %q matched %q, want %q", a, got, row.Name)
			}
		}
	}
	for _, r := range p.Routes {
		if !routesSeen[r.ID] {
			t.Errorf("route %s never offered", r.ID)
		}
	}
}

// Every entity type is inferred from a typical name and accepted by id.
func TestEntityTypes(t *testing.T) {
	c := mustDefault(t)
	names := map[string][]string{
		"bank":             {"中国工商银行股份有限公司北京分行", "某县农村信用合作联社"},
		"securities":       {"某某证券股份有限公司", "某某期货有限公司"},
		"insurance":        {"中国人寿保险股份有限公司"},
		"trust":            {"某某国际信托有限公司"},
		"fund":             {"某某基金管理有限公司"},
		"consumer_finance": {"某某消费金融有限公司"},
		"microlender":      {"某某网络小额贷款有限公司"},
		"auto_finance":     {"某某汽车金融有限公司", "某某金融租赁股份有限公司"},
		"telecom":          {"中国移动通信集团广东有限公司", "中国电信股份有限公司某市分公司"},
		"public_hospital":  {"某市人民医院", "某镇卫生院", "某街道社区卫生服务中心"},
		"private_hospital": {"某某医院有限公司", "某某民营医院"},
		"school":           {"某某大学", "某市第一中学"},
		"logistics":        {"某某快递有限公司", "中国邮政集团有限公司某市分公司"},
		"transport":        {"某某航空股份有限公司", "某市地铁集团有限公司"},
		"utility":          {"某市自来水有限公司", "国网某省电力有限公司"},
		"hotel":            {"某某大酒店"},
		"notary":           {"某市公证处"},
		"live_platform":    {"某某直播平台运营中心"},
		"company":          {"某市ABC科技有限公司", "某某医院管理有限公司", "某某职业培训学校有限公司"},
		"government":       {"政务服务数据管理局", "某市卫生健康委员会", "某区人民政府办公室", "某市政务服务中心"},
		"other_org":        {"某市摄影家协会"},
		"individual":       {"王小明", "个人开发者"},
	}
	for _, typ := range c.Policy().EntityTypes {
		list, ok := names[typ.ID]
		if !ok {
			t.Errorf("entity type %s has no inference case", typ.ID)
			continue
		}
		for _, n := range list {
			v := c.Check(eligibility.Input{Entity: entity(n, ""), Categories: eligibility.List{"工具-其他"}, Content: "x"})
			if v.Entity.Type != typ.ID || !v.Entity.Inferred || v.Entity.InferredFrom == "" {
				t.Errorf("%s: inferred %q from %q, want %s", n, v.Entity.Type, v.Entity.InferredFrom, typ.ID)
			}
		}
		// Declared by id, by Chinese name and by alias.
		for _, decl := range append([]string{typ.ID, typ.Name}, typ.Aliases...) {
			v := c.Check(eligibility.Input{Entity: entity("某某", decl), Categories: eligibility.List{"工具-其他"}, Content: "x"})
			if v.Entity.Type != typ.ID || v.Entity.Inferred || v.Entity.Open != typ.Open {
				t.Errorf("declared %q: got %+v, want %s", decl, v.Entity, typ.ID)
			}
		}
	}
}

// Trigger positions are rune offsets into the original text, whatever
// precedes them (ASCII, CJK, emoji) and whatever the case.
func TestTriggerOffsets(t *testing.T) {
	c := mustDefault(t)
	content := "😀ab政务 SIM卡 办理需人脸识别和手持身份证照片,另有活体检测"
	v := c.Check(eligibility.Input{Entity: entity("某局", ""), Categories: eligibility.List{"政务民生-其他"}, Content: content})
	rs := []rune(content)
	want := []string{"人脸识别", "手持身份证照片", "活体检测"}
	if len(v.Triggers) != len(want) {
		t.Fatalf("triggers = %+v", v.Triggers)
	}
	for i, tr := range v.Triggers {
		if got := string(rs[tr.Start:tr.End]); got != want[i] || tr.Phrase != want[i] {
			t.Errorf("trigger %d: runes[%d:%d] = %q, phrase %q, want %q", i, tr.Start, tr.End, got, tr.Phrase, want[i])
		}
	}
}

func TestDecodeInput(t *testing.T) {
	c := mustDefault(t)
	scenarios := []struct {
		name string
		in   string
		code string // "" = accepted
	}{
		{"ok", `{"entity":{"name":"某局"},"categories":["政务民生-社保"],"content":"社保认证刷脸"}`, ""},
		{"bom_and_string_categories", "\xef\xbb\xbf" + `{"entity":{"name":"某局"},"categories":"政务民生-社保；政务民生-公积金","content":"社保认证刷脸"}`, ""},
		{"empty", "", engine.CodeMissingParameter},
		{"blank", " \n\t", engine.CodeMissingParameter},
		{"empty_object", `{}`, engine.CodeMissingParameter},
		{"no_categories", `{"entity":{"name":"某局"},"content":"刷脸"}`, engine.CodeMissingParameter},
		{"blank_content", `{"entity":{"name":"某局"},"categories":["a-b"],"content":"   "}`, engine.CodeMissingParameter},
		{"not_json", `entity: 某局`, engine.CodeInvalidParameter},
		{"truncated", `{"entity":{"name":"某局"},"categ`, engine.CodeInvalidParameter},
		{"array", `[1,2]`, engine.CodeInvalidParameter},
		{"trailing", `{"entity":{"name":"某局"},"categories":["a-b"],"content":"x"} {}`, engine.CodeInvalidParameter},
		{"unknown_field", `{"entity":{"name":"某局"},"categorys":["a-b"],"content":"x"}`, engine.CodeInvalidParameter},
		{"wrong_type", `{"entity":"某局","categories":["a-b"],"content":"x"}`, engine.CodeInvalidParameter},
		{"categories_number", `{"entity":{"name":"某局"},"categories":5,"content":"x"}`, engine.CodeInvalidParameter},
		{"gbk", "{\"entity\":{\"name\":\"\xc4\xb3\xbe\xd6\"},\"categories\":[\"a-b\"],\"content\":\"\xcb\xa2\xc1\xb3\"}", engine.CodeInvalidParameterValue},
		{"mojibake", `{"entity":{"name":"æ”¿åŠ¡æœåŠ¡"},"categories":["a-b"],"content":"x"}`, engine.CodeInvalidParameterValue},
		{"replacement_char", `{"entity":{"name":"某局"},"categories":["a-b"],"content":"\ufffd\ufffd"}`, engine.CodeInvalidParameterValue},
		{"control_char", `{"entity":{"name":"某局\u0000"},"categories":["a-b"],"content":"x"}`, engine.CodeInvalidParameterValue},
		{"unknown_type", `{"entity":{"name":"某局","type":"spaceship"},"categories":["a-b"],"content":"x"}`, engine.CodeInvalidParameterValue},
		{"huge", `{"entity":{"name":"某局"},"categories":["a-b"],"content":"` + strings.Repeat("人", eligibility.MaxInputBytes) + `"}`, engine.CodeInvalidParameterValue},
		{"long_content", `{"entity":{"name":"某局"},"categories":["a-b"],"content":"` + strings.Repeat("x", eligibility.MaxContentRunes+1) + `"}`, engine.CodeInvalidParameterValue},
	}
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%02d_%s", i, s.name), func(t *testing.T) {
			in, err := eligibility.DecodeInput(strings.NewReader(s.in))
			if err == nil {
				err = c.Validate(in)
			}
			if got := engine.ErrorCode(err); got != s.code {
				t.Fatalf("code = %q (%v), want %q", got, err, s.code)
			}
			if err != nil {
				e := engine.AsError(err)
				if e.Message == "" || e.EN == "" {
					t.Errorf("error without messages: %+v", e)
				}
				return
			}
			v := c.Check(in)
			if v.Verdict != eligibility.Eligible {
				t.Errorf("verdict %s: %+v", v.Verdict, v.Findings)
			}
		})
	}
}

// Check never panics, even on input Validate would reject.
func TestCheckZeroInput(t *testing.T) {
	c := mustDefault(t)
	v := c.Check(eligibility.Input{})
	if v.Verdict != eligibility.NotApplicable || v.Findings.Entity.OK || v.Findings.Category.OK || v.Findings.Content.OK {
		t.Errorf("zero input: %+v", v)
	}
	v = c.Check(eligibility.Input{Content: "人脸"})
	if v.Verdict != eligibility.Ineligible {
		t.Errorf("no entity, no category: %s", v.Verdict)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add(`{"entity":{"name":"政务服务数据管理局"},"categories":["政务民生-公积金"],"content":"人脸识别登录"}`)
	f.Add(`{"entity":{"name":"某市123有限公司"},"categories":"社交-直播","content":"营业厅 手持身份照片","features":["selfie"]}`)
	f.Add(`{"entity":{"name":"张三","type":"个人"},"categories":["›-›"],"content":"😀人脸"}`)
	c := mustDefault(f)
	f.Fuzz(func(t *testing.T, s string) {
		in, err := eligibility.DecodeInput(strings.NewReader(s))
		if err != nil {
			return
		}
		v := c.Check(in)
		switch v.Verdict {
		case eligibility.Eligible, eligibility.Ineligible, eligibility.NotApplicable:
		default:
			t.Fatalf("verdict %q", v.Verdict)
		}
		n := map[string]int{"content": len([]rune(in.Content))}
		for i, f := range in.Features {
			n[fmt.Sprintf("features[%d]", i)] = len([]rune(f))
		}
		for _, tr := range v.Triggers {
			if tr.Start < 0 || tr.End <= tr.Start || tr.End > n[tr.Field] {
				t.Fatalf("trigger out of range: %+v", tr)
			}
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	c := mustDefault(b)
	seed := eligibility.Input{
		Entity:     entity("某市123有限公司", ""),
		Categories: eligibility.List{"社交-直播"},
		Content:    "某营业厅在线自助办理通信类时,实名认证环节需上传身份证正反面和手持身份照片",
	}
	long := seed
	long.Content = strings.Repeat("提供政务服务大厅预约、公积金查询与社保认证,部分事项需人脸识别。", 150) // ~5,000 runes
	for _, bc := range []struct {
		name string
		in   eligibility.Input
	}{{"seed3", seed}, {"5000runes", long}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				c.Check(bc.in)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := eligibility.Load(""); err != nil {
			b.Fatal(err)
		}
	}
}

// One Checker serves concurrent requests (the API will share it); run with
// -race to check it.
func TestConcurrentCheck(t *testing.T) {
	c := mustDefault(t)
	in := eligibility.Input{
		Entity:     entity("某市123有限公司", ""),
		Categories: eligibility.List{"社交-直播"},
		Content:    "某营业厅在线自助办理通信类时,实名认证环节需上传身份证正反面和手持身份照片",
	}
	want := c.Check(in)
	done := make(chan eligibility.Verdict)
	for range 8 {
		go func() { done <- c.Check(in) }()
	}
	for range 8 {
		if v := <-done; v.Verdict != want.Verdict || len(v.Triggers) != len(want.Triggers) || v.Remediation[0].Action != want.Remediation[0].Action {
			t.Errorf("concurrent verdict differs: %+v", v)
		}
	}
}
