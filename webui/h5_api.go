package webui

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"heshen/engine"
	"heshen/engine/fieldcrypt"
)

// The hosted flow's API actions: DetectAuth, GetDetectInfoEnhanced and
// GetDetectInfo, with the reference's field names and casing (§2),
// including DetectDetail's Idcard/Errcode/Livestatus and Sim as a string.

func (s *Server) live() (*Live, error) {
	if s.opt.Live == nil {
		return nil, apiErr(engine.CodeUnsupportedOperation, "the hosted flow (DetectAuth) is not enabled on this server")
	}
	return s.opt.Live, nil
}

type detectAuthParams struct {
	RuleId       string                 `json:"RuleId"`
	TerminalType string                 `json:"TerminalType"`
	IdCard       string                 `json:"IdCard"`
	Name         string                 `json:"Name"`
	RedirectUrl  string                 `json:"RedirectUrl"`
	Extra        string                 `json:"Extra"`
	ImageBase64  string                 `json:"ImageBase64"`
	Encryption   *fieldcrypt.Encryption `json:"Encryption"`
}

type detectAuthOut struct {
	Url      string `json:"Url"`
	BizToken string `json:"BizToken"`
}

func (s *Server) detectAuth(k *call) (any, error) {
	l, err := s.live()
	if err != nil {
		return nil, err
	}
	var p detectAuthParams
	if err := decode(k, &p); err != nil {
		return nil, err
	}
	if err := s.decrypt(p.Encryption, map[string]*string{"IdCard": &p.IdCard, "Name": &p.Name}); err != nil {
		return nil, err
	}
	if err := required("RuleId", p.RuleId); err != nil {
		return nil, err
	}
	switch {
	case utf8.RuneCountInString(p.Name) > 32:
		return nil, apiErr(engine.CodeInvalidParameterValue, "Name must be at most 32 characters")
	case len(p.RedirectUrl) > 1024:
		return nil, apiErr(engine.CodeInvalidParameterValue, "RedirectUrl must be at most 1024 characters")
	case utf8.RuneCountInString(p.Extra) > 1024:
		return nil, apiErr(engine.CodeInvalidParameterValue, "Extra must be at most 1024 characters")
	}
	var img []byte
	if p.ImageBase64 != "" {
		if img, err = decodeBase64("ImageBase64", p.ImageBase64); err != nil {
			return nil, err
		}
	}
	k.lap("decode")
	t, _, err := l.cfg.Detector.Start(k.ctx, engine.DetectAuthRequest{AppID: k.cred.AppID, RuleID: p.RuleId,
		IDNumber: p.IdCard, Name: p.Name, Image: img, RedirectURL: p.RedirectUrl, Extra: p.Extra})
	k.lap("start")
	if err != nil {
		return nil, err
	}
	k.bizToken = t.Token
	base := l.cfg.PublicURL
	if base == "" {
		base = k.baseURL
	}
	return detectAuthOut{Url: base + "/h5/" + t.Token, BizToken: t.Token}, nil
}

// --- results ---

type getDetectInfoParams struct {
	BizToken           string                 `json:"BizToken"`
	RuleId             string                 `json:"RuleId"`
	InfoType           string                 `json:"InfoType"`
	BestFramesCount    *int64                 `json:"BestFramesCount"`
	IsCutIdCardImage   bool                   `json:"IsCutIdCardImage"`
	IsNeedIdCardAvatar bool                   `json:"IsNeedIdCardAvatar"`
	IsEncrypt          bool                   `json:"IsEncrypt"`
	IsEncryptResponse  bool                   `json:"IsEncryptResponse"`
	IsReturnAllVideo   bool                   `json:"IsReturnAllVideo"`
	Encryption         *fieldcrypt.Encryption `json:"Encryption"`
}

// detectDetail is one attempt (DetectDetail, with its odd casing).
type detectDetail struct {
	ReqTime        string  `json:"ReqTime"`
	Seq            string  `json:"Seq"`
	Idcard         string  `json:"Idcard"`
	Name           string  `json:"Name"`
	Sim            *string `json:"Sim"`
	IsNeedCharge   bool    `json:"IsNeedCharge"`
	Errcode        int     `json:"Errcode"`
	Errmsg         string  `json:"Errmsg"`
	Livestatus     int     `json:"Livestatus"`
	Livemsg        string  `json:"Livemsg"`
	Comparestatus  *int    `json:"Comparestatus"`
	Comparemsg     *string `json:"Comparemsg"`
	CompareLibType string  `json:"CompareLibType"`
	LivenessMode   int     `json:"LivenessMode"`
}

// detectInfoText is DetectInfoText. Fields Heshen never fills (OCR, NFC,
// location, mobile) are null.
type detectInfoText struct {
	ErrCode                int            `json:"ErrCode"`
	ErrMsg                 string         `json:"ErrMsg"`
	IdCard                 string         `json:"IdCard"`
	UseIDType              int            `json:"UseIDType"`
	Name                   string         `json:"Name"`
	OcrNation              *string        `json:"OcrNation"`
	OcrAddress             *string        `json:"OcrAddress"`
	OcrBirth               *string        `json:"OcrBirth"`
	OcrAuthority           *string        `json:"OcrAuthority"`
	OcrValidDate           *string        `json:"OcrValidDate"`
	OcrName                *string        `json:"OcrName"`
	OcrIdCard              *string        `json:"OcrIdCard"`
	OcrGender              *string        `json:"OcrGender"`
	IdInfoFrom             string         `json:"IdInfoFrom"`
	LiveStatus             *int           `json:"LiveStatus"`
	LiveMsg                *string        `json:"LiveMsg"`
	Comparestatus          *int           `json:"Comparestatus"`
	Comparemsg             *string        `json:"Comparemsg"`
	Sim                    *string        `json:"Sim"`
	Location               *string        `json:"Location"`
	Extra                  string         `json:"Extra"`
	LivenessDetail         []detectDetail `json:"LivenessDetail"`
	LivenessInfoTag        []string       `json:"LivenessInfoTag"`
	Mobile                 *string        `json:"Mobile"`
	CompareLibType         string         `json:"CompareLibType"`
	LivenessMode           int            `json:"LivenessMode"`
	NFCRequestIds          []string       `json:"NFCRequestIds"`
	NFCBillingCounts       int            `json:"NFCBillingCounts"`
	PassNo                 *string        `json:"PassNo"`
	VisaNum                *string        `json:"VisaNum"`
	LivenessActionSequence string         `json:"LivenessActionSequence"`
}

type detectBestFrame struct {
	BestFrame  *string  `json:"BestFrame"`
	BestFrames []string `json:"BestFrames"`
}

type livenessVideo struct {
	Seq   string `json:"Seq"`
	Video string `json:"Video"`
}

type detectVideoData struct {
	LivenessVideo  *string         `json:"LivenessVideo"`
	LivenessVideos []livenessVideo `json:"LivenessVideos"`
}

type idCardData struct {
	OcrFront            *string `json:"OcrFront"`
	OcrBack             *string `json:"OcrBack"`
	ProcessedFrontImage *string `json:"ProcessedFrontImage"`
	ProcessedBackImage  *string `json:"ProcessedBackImage"`
	Avatar              *string `json:"Avatar"`
	WarnInfos           []int   `json:"WarnInfos"`
	BackWarnInfos       []int   `json:"BackWarnInfos"`
}

type detectInfoEnhancedOut struct {
	Text                    *detectInfoText  `json:"Text"`
	IdCardData              *idCardData      `json:"IdCardData"`
	BestFrame               *detectBestFrame `json:"BestFrame"`
	VideoData               *detectVideoData `json:"VideoData"`
	Encryption              any              `json:"Encryption"`
	IntentionVerifyData     any              `json:"IntentionVerifyData"`
	IntentionQuestionResult any              `json:"IntentionQuestionResult"`
	IntentionActionResult   any              `json:"IntentionActionResult"`
	EncryptedBody           *string          `json:"EncryptedBody"`
	IsVerifyIntention       bool             `json:"IsVerifyIntention"`
	IntentionVerifyType     *string          `json:"IntentionVerifyType"`
}

// infoParts is what InfoType asks for: "0" all, "1" text, "2" ID images,
// "3" best frame, "4" video (digits concatenable, e.g. "134").
type infoParts struct{ text, idCard, best, video bool }

func parseInfoType(s string, maxDigit byte) (infoParts, error) {
	if s == "" {
		s = "0"
	}
	var p infoParts
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > maxDigit {
			return p, apiErr(engine.CodeInvalidParameterValue, "InfoType must be digits 0 to "+string(maxDigit)+` ("0" all, "1" text, "2" ID images, "3" best frame, "4" video)`)
		}
		switch c {
		case '0':
			p = infoParts{true, true, true, true}
		case '1':
			p.text = true
		case '2':
			p.idCard = true
		case '3':
			p.best = true
		case '4':
			p.video = true
		}
	}
	return p, nil
}

func strp(s string) *string { return &s }
func intp(n int) *int       { return &n }

// simString is Sim as DetectInfoText writes it ("88.3").
func simString(v float64) *string { return strp(strconv.FormatFloat(v, 'f', -1, 64)) }

func compareLibType(r *engine.Rule) string {
	if r == nil {
		return ""
	}
	switch r.CompareSource {
	case engine.CompareGallery:
		return "权威库"
	case engine.ComparePhoto:
		return "业务方自传"
	}
	return ""
}

// billed reports whether an attempt's code is billed (reference §3.1).
func billed(code int) bool {
	return code == engine.FlowPass || code == engine.CompareMismatch || code == engine.CompareLowSim
}

func detailOf(a *engine.Attempt, lib string) detectDetail {
	d := detectDetail{ReqTime: strconv.FormatInt(a.At.Unix(), 10), Seq: strconv.Itoa(a.Seq), Idcard: a.IDNumber, Name: a.Name,
		IsNeedCharge: billed(a.ErrCode), Errcode: a.ErrCode, Errmsg: a.ErrMsg, Livestatus: a.LiveStatus, Livemsg: a.LiveMsg,
		CompareLibType: lib, LivenessMode: a.Mode}
	if a.Compared {
		d.Sim, d.Comparestatus, d.Comparemsg = simString(a.Sim), intp(a.CompareErr), strp(a.CompareMsg)
	}
	return d
}

func textOf(info *engine.DetectInfo) *detectInfoText {
	t := info.Token
	lib := compareLibType(info.Rule)
	out := &detectInfoText{ErrCode: info.ErrCode, ErrMsg: info.ErrMsg, IdCard: t.IDNumber, Name: t.Name, Extra: t.Extra,
		IdInfoFrom: "其他", LivenessDetail: []detectDetail{}, LivenessInfoTag: []string{}, NFCRequestIds: []string{},
		CompareLibType: lib}
	if info.Rule != nil {
		out.LivenessMode = info.Rule.LivenessMode
		if info.Rule.IdentityTyped {
			out.IdInfoFrom = "手动输入"
		}
	}
	for i := range t.Attempts {
		out.LivenessDetail = append(out.LivenessDetail, detailOf(&t.Attempts[i], lib))
	}
	if a := info.Final; a != nil {
		out.LiveStatus, out.LiveMsg = intp(a.LiveStatus), strp(a.LiveMsg)
		if a.Compared {
			out.Comparestatus, out.Comparemsg, out.Sim = intp(a.CompareErr), strp(a.CompareMsg), simString(a.Sim)
		}
		out.LivenessMode = a.Mode
		out.LivenessActionSequence = a.Sequence
	}
	return out
}

func b64p(b []byte) *string {
	if len(b) == 0 {
		return nil
	}
	return strp(base64.StdEncoding.EncodeToString(b))
}

func (s *Server) detectInfo(k *call, maxDigit byte) (*engine.DetectInfo, *getDetectInfoParams, infoParts, error) {
	l, err := s.live()
	if err != nil {
		return nil, nil, infoParts{}, err
	}
	var p getDetectInfoParams
	if err := decode(k, &p); err != nil {
		return nil, nil, infoParts{}, err
	}
	if p.Encryption != nil || p.IsEncryptResponse || p.IsEncrypt {
		return nil, nil, infoParts{}, apiErr(codeUnsupportedEncode, "encrypted results are not supported; call without Encryption, IsEncrypt and IsEncryptResponse")
	}
	if err := required("BizToken", p.BizToken); err != nil {
		return nil, nil, infoParts{}, err
	}
	if err := required("RuleId", p.RuleId); err != nil {
		return nil, nil, infoParts{}, err
	}
	parts, err := parseInfoType(p.InfoType, maxDigit)
	if err != nil {
		return nil, nil, infoParts{}, err
	}
	if p.BestFramesCount != nil && (*p.BestFramesCount < 0 || *p.BestFramesCount > 10) {
		return nil, nil, infoParts{}, apiErr(engine.CodeInvalidParameterValue, "BestFramesCount must be 0 to 10")
	}
	k.bizToken = p.BizToken
	info, err := l.cfg.Detector.Info(k.ctx, k.cred.AppID, p.BizToken, p.RuleId, engine.InfoWant{BestFrames: parts.best, Videos: parts.video})
	k.lap("read")
	if err != nil {
		return nil, nil, infoParts{}, err
	}
	return info, &p, parts, nil
}

// finalMedia is the last attempt's media of a kind, or the newest
// attempt's that still has it.
func finalMedia(list [][]byte) []byte {
	if len(list) == 0 {
		return nil
	}
	return list[len(list)-1]
}

func (s *Server) getDetectInfoEnhanced(k *call) (any, error) {
	info, p, parts, err := s.detectInfo(k, '6')
	if err != nil {
		return nil, err
	}
	out := detectInfoEnhancedOut{}
	if parts.text {
		out.Text = textOf(info)
	}
	if parts.idCard {
		out.IdCardData = &idCardData{WarnInfos: []int{}, BackWarnInfos: []int{}}
	}
	if parts.best {
		bf := &detectBestFrame{BestFrame: b64p(finalMedia(info.BestFrames)), BestFrames: []string{}}
		if p.BestFramesCount != nil {
			for i := len(info.BestFrames) - 1; i >= 0 && len(bf.BestFrames) < int(*p.BestFramesCount); i-- {
				if b := b64p(info.BestFrames[i]); b != nil {
					bf.BestFrames = append(bf.BestFrames, *b)
				}
			}
		}
		out.BestFrame = bf
	}
	if parts.video {
		vd := &detectVideoData{LivenessVideo: b64p(finalMedia(info.Videos)), LivenessVideos: []livenessVideo{}}
		if p.IsReturnAllVideo {
			for i, v := range info.Videos {
				if b := b64p(v); b != nil {
					vd.LivenessVideos = append(vd.LivenessVideos, livenessVideo{Seq: strconv.Itoa(info.Token.Attempts[i].Seq), Video: *b})
				}
			}
		}
		out.VideoData = vd
	}
	return out, nil
}

// GetDetectInfo's DetectInfo is JSON serialised into a string.
type legacyLiveness struct {
	ErrCode int    `json:"ErrCode"`
	ErrMsg  string `json:"ErrMsg"`
	ReqTime string `json:"ReqTime"`
	IdCard  string `json:"IdCard"`
	Name    string `json:"Name"`
}

type legacyText struct {
	ErrCode       int     `json:"ErrCode"`
	ErrMsg        string  `json:"ErrMsg"`
	IdCard        string  `json:"IdCard"`
	Name          string  `json:"Name"`
	OcrNation     string  `json:"OcrNation"`
	OcrAddress    string  `json:"OcrAddress"`
	OcrBirth      string  `json:"OcrBirth"`
	OcrAuthority  string  `json:"OcrAuthority"`
	OcrValidDate  string  `json:"OcrValidDate"`
	OcrName       string  `json:"OcrName"`
	OcrIdCard     string  `json:"OcrIdCard"`
	OcrGender     string  `json:"OcrGender"`
	LiveStatus    *int    `json:"LiveStatus"`
	LiveMsg       *string `json:"LiveMsg"`
	Comparestatus *int    `json:"Comparestatus"`
	Comparemsg    *string `json:"Comparemsg"`
	Sim           *string `json:"Sim"`
	Location      *string `json:"Location"`
	Extra         string  `json:"Extra"`
	Detail        struct {
		LivenessData []legacyLiveness `json:"LivenessData"`
	} `json:"Detail"`
}

type legacyInfo struct {
	Text       *legacyText `json:"Text,omitempty"`
	IdCardData *struct {
		OcrFront *string `json:"OcrFront"`
		OcrBack  *string `json:"OcrBack"`
	} `json:"IdCardData,omitempty"`
	BestFrame *struct {
		BestFrame *string `json:"BestFrame"`
	} `json:"BestFrame,omitempty"`
	VideoData *struct {
		LivenessVideo *string `json:"LivenessVideo"`
	} `json:"VideoData,omitempty"`
}

func (s *Server) getDetectInfo(k *call) (any, error) {
	info, _, parts, err := s.detectInfo(k, '4')
	if err != nil {
		return nil, err
	}
	var out legacyInfo
	if parts.text {
		t := textOf(info)
		lt := &legacyText{ErrCode: t.ErrCode, ErrMsg: t.ErrMsg, IdCard: t.IdCard, Name: t.Name, LiveStatus: t.LiveStatus, LiveMsg: t.LiveMsg,
			Comparestatus: t.Comparestatus, Comparemsg: t.Comparemsg, Sim: t.Sim, Extra: t.Extra}
		lt.Detail.LivenessData = []legacyLiveness{}
		for _, a := range info.Token.Attempts {
			lt.Detail.LivenessData = append(lt.Detail.LivenessData, legacyLiveness{ErrCode: a.ErrCode, ErrMsg: a.ErrMsg,
				ReqTime: strconv.FormatInt(a.At.Unix(), 10), IdCard: a.IDNumber, Name: a.Name})
		}
		out.Text = lt
	}
	if parts.idCard {
		out.IdCardData = &struct {
			OcrFront *string `json:"OcrFront"`
			OcrBack  *string `json:"OcrBack"`
		}{}
	}
	if parts.best {
		out.BestFrame = &struct {
			BestFrame *string `json:"BestFrame"`
		}{b64p(finalMedia(info.BestFrames))}
	}
	if parts.video {
		out.VideoData = &struct {
			LivenessVideo *string `json:"LivenessVideo"`
		}{b64p(finalMedia(info.Videos))}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return struct {
		DetectInfo string `json:"DetectInfo"`
	}{strings.TrimSpace(string(b))}, nil
}
