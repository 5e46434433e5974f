package webui

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode/utf8"

	"heshen/engine"
	"heshen/engine/fieldcrypt"
)

// action runs one API action for an authenticated call and returns the
// Response object (without RequestId).
type action func(s *Server, k *call) (any, error)

func (s *Server) actionTable() map[string]action {
	return map[string]action{
		"IdCardVerification":    (*Server).idCardVerification,
		"CheckIdNameDate":       (*Server).checkIdNameDate,
		"ImageRecognition":      (*Server).imageRecognition,
		"ImageRecognitionV2":    (*Server).imageRecognitionV2,
		"LivenessCompare":       (*Server).livenessCompare,
		"LivenessRecognition":   (*Server).livenessRecognition,
		"Liveness":              (*Server).liveness,
		"GetActionSequence":     (*Server).getActionSequence,
		"GetLiveCode":           (*Server).getLiveCode,
		"DetectAuth":            (*Server).detectAuth,
		"GetDetectInfoEnhanced": (*Server).getDetectInfoEnhanced,
		"GetDetectInfo":         (*Server).getDetectInfo,
	}
}

// decode reads the JSON body into p. Unknown keys (Region, …) are ignored,
// as Tencent does; wrong types name the field.
func decode(k *call, p any) error {
	body := bytes.TrimSpace(k.body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return apiErr(codeInvalidParameter, fmt.Sprintf("parameter %s has the wrong type (want %s)", te.Field, te.Type))
		}
		return apiErr(codeInvalidParameter, "the request body is not a JSON object: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiErr(codeInvalidParameter, "the request body has data after the JSON object")
	}
	return nil
}

func required(name, v string) error {
	if v == "" {
		return apiErr(codeMissingParameter, "missing parameter "+name)
	}
	return nil
}

// decrypt applies an Encryption object to the fields the action accepts
// encrypted (Name and IdCard, seed 003).
func (s *Server) decrypt(enc *fieldcrypt.Encryption, fields map[string]*string) error {
	if enc == nil {
		return nil
	}
	if s.opt.Keys == nil {
		return apiErr(codeUnsupportedEncode, "this server has no encryption keys configured")
	}
	return s.opt.Keys.Decrypt(enc, fields)
}

// refuseEncryption is for actions that take no Encryption (reference §4).
func refuseEncryption(enc *fieldcrypt.Encryption, action string) error {
	if enc != nil {
		return apiErr(codeUnsupportedEncode, action+" does not accept Encryption")
	}
	return nil
}

// decodeBase64 accepts standard or URL-safe base64, padded or not, with a
// data: URL prefix and line breaks (reference notes on ImageBase64).
func decodeBase64(name, s string) ([]byte, error) {
	if strings.HasPrefix(s, "data:") {
		_, after, ok := strings.Cut(s, ",")
		if !ok {
			return nil, apiErr(engine.CodeInvalidParameterValue, name+" has a data: prefix without a comma")
		}
		s = after
	}
	if strings.ContainsAny(s, "\r\n \t") {
		s = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, s)
	}
	s = strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, apiErr(engine.CodeInvalidParameterValue, name+" is not valid base64")
	}
	return b, nil
}

// media gets an image or video from its Base64 field or, when allowed, its URL.
func (s *Server) media(k *call, name, b64, url string) ([]byte, error) {
	if b64 != "" {
		return decodeBase64(name+"Base64", b64)
	}
	if url == "" {
		return nil, nil
	}
	b, err := s.fetch.get(k.ctx, url)
	k.lap("fetch_" + strings.ToLower(name))
	return b, err
}

// verification runs a verifier call and records its result on the call.
func (s *Server) verification(k *call, f func() (*engine.VerifyResult, error)) (*engine.VerifyResult, error) {
	r, err := f()
	if err != nil {
		return nil, err
	}
	k.result = r.Result
	if r.Record != nil {
		for _, st := range r.Record.Stages {
			k.steps = append(k.steps, engine.Stage{Name: "verify_" + st.Name, Ms: st.Ms})
		}
		s.metrics.observeVerification(k.action, r.Result, r.Record.Stages)
	}
	return r, nil
}

func (k *call) request() *engine.VerifyRequest {
	return &engine.VerifyRequest{
		AppID:     k.cred.AppID,
		Action:    k.action,
		RequestID: k.requestID,
		SecretID:  k.secretID,
		Channel:   "api",
	}
}

// --- IdCardVerification ---

type idCardParams struct {
	IdCard     string                 `json:"IdCard"`
	Name       string                 `json:"Name"`
	Encryption *fieldcrypt.Encryption `json:"Encryption"`
}

type resultOut struct {
	Result      string `json:"Result"`
	Description string `json:"Description"`
}

func (s *Server) idCardVerification(k *call) (any, error) {
	var p idCardParams
	if err := decode(k, &p); err != nil {
		return nil, err
	}
	if err := s.decrypt(p.Encryption, map[string]*string{"IdCard": &p.IdCard, "Name": &p.Name}); err != nil {
		return nil, err
	}
	if err := required("IdCard", p.IdCard); err != nil {
		return nil, err
	}
	if err := required("Name", p.Name); err != nil {
		return nil, err
	}
	req := k.request()
	req.IDNumber, req.Name = p.IdCard, p.Name
	r, err := s.verification(k, func() (*engine.VerifyResult, error) { return s.opt.Verifier.CheckIdentity(k.ctx, req) })
	if err != nil {
		return nil, err
	}
	return resultOut{Result: r.Result, Description: r.Describe(k.lang)}, nil
}

// --- CheckIdNameDate ---

type idNameDateParams struct {
	Name          string                 `json:"Name"`
	IdCard        string                 `json:"IdCard"`
	ValidityBegin string                 `json:"ValidityBegin"`
	ValidityEnd   string                 `json:"ValidityEnd"`
	Encryption    *fieldcrypt.Encryption `json:"Encryption"`
}

func (s *Server) checkIdNameDate(k *call) (any, error) {
	var p idNameDateParams
	if err := decode(k, &p); err != nil {
		return nil, err
	}
	if err := s.decrypt(p.Encryption, map[string]*string{"IdCard": &p.IdCard, "Name": &p.Name}); err != nil {
		return nil, err
	}
	for _, f := range [][2]string{{"Name", p.Name}, {"IdCard", p.IdCard}, {"ValidityBegin", p.ValidityBegin}, {"ValidityEnd", p.ValidityEnd}} {
		if err := required(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	req := k.request()
	req.IDNumber, req.Name = p.IdCard, p.Name
	req.ValidityBegin, req.ValidityEnd = p.ValidityBegin, p.ValidityEnd
	r, err := s.verification(k, func() (*engine.VerifyResult, error) { return s.opt.Verifier.CheckIdentityDate(k.ctx, req) })
	if err != nil {
		return nil, err
	}
	return resultOut{Result: r.Result, Description: r.Describe(k.lang)}, nil
}

// --- ImageRecognition / ImageRecognitionV2 ---

type imageRecognitionParams struct {
	IdCard      string                 `json:"IdCard"`
	Name        string                 `json:"Name"`
	ImageBase64 string                 `json:"ImageBase64"`
	Optional    string                 `json:"Optional"`
	Extra       string                 `json:"Extra"`
	Encryption  *fieldcrypt.Encryption `json:"Encryption"`
}

type imageRecognitionOut struct {
	Sim         float64 `json:"Sim"`
	Result      string  `json:"Result"`
	Description string  `json:"Description"`
}

type imageRecognitionV2Out struct {
	Sim         float64 `json:"Sim"`
	Result      string  `json:"Result"`
	Description string  `json:"Description"`
	Extra       string  `json:"Extra"`
}

func (s *Server) imageRecognitionRun(k *call) (*engine.VerifyResult, *imageRecognitionParams, error) {
	var p imageRecognitionParams
	if err := decode(k, &p); err != nil {
		return nil, nil, err
	}
	if err := s.decrypt(p.Encryption, map[string]*string{"IdCard": &p.IdCard, "Name": &p.Name}); err != nil {
		return nil, nil, err
	}
	if k.action == "ImageRecognitionV2" && utf8.RuneCountInString(p.Extra) > 10 {
		return nil, nil, apiErr(engine.CodeInvalidParameterValue, "Extra must be at most 10 characters")
	}
	for _, f := range [][2]string{{"IdCard", p.IdCard}, {"Name", p.Name}, {"ImageBase64", p.ImageBase64}} {
		if err := required(f[0], f[1]); err != nil {
			return nil, nil, err
		}
	}
	img, err := decodeBase64("ImageBase64", p.ImageBase64)
	if err != nil {
		return nil, nil, err
	}
	k.lap("decode")
	req := k.request()
	req.IDNumber, req.Name, req.Image = p.IdCard, p.Name, img
	r, err := s.verification(k, func() (*engine.VerifyResult, error) { return s.opt.Verifier.CompareImage(k.ctx, req) })
	return r, &p, err
}

func (s *Server) imageRecognition(k *call) (any, error) {
	r, _, err := s.imageRecognitionRun(k)
	if err != nil {
		return nil, err
	}
	return imageRecognitionOut{Sim: r.Sim, Result: r.Result, Description: r.Describe(k.lang)}, nil
}

func (s *Server) imageRecognitionV2(k *call) (any, error) {
	r, p, err := s.imageRecognitionRun(k)
	if err != nil {
		return nil, err
	}
	return imageRecognitionV2Out{Sim: r.Sim, Result: r.Result, Description: r.Describe(k.lang), Extra: p.Extra}, nil
}

// --- Liveness family ---

type livenessParams struct {
	IdCard       string                 `json:"IdCard"`
	Name         string                 `json:"Name"`
	ImageBase64  string                 `json:"ImageBase64"`
	ImageUrl     string                 `json:"ImageUrl"`
	VideoBase64  string                 `json:"VideoBase64"`
	VideoUrl     string                 `json:"VideoUrl"`
	LivenessType string                 `json:"LivenessType"`
	ValidateData string                 `json:"ValidateData"`
	Optional     string                 `json:"Optional"`
	Encryption   *fieldcrypt.Encryption `json:"Encryption"`
}

type livenessCompareOut struct {
	BestFrameBase64 string   `json:"BestFrameBase64"`
	Sim             float64  `json:"Sim"`
	Result          string   `json:"Result"`
	Description     string   `json:"Description"`
	BestFrameList   []string `json:"BestFrameList"`
}

type livenessOut struct {
	BestFrameBase64 string   `json:"BestFrameBase64"`
	Result          string   `json:"Result"`
	Description     string   `json:"Description"`
	BestFrameList   []string `json:"BestFrameList"`
}

// bestFrameNum reads Optional's {"BestFrameNum": n}.
func bestFrameNum(opt string) (int, error) {
	if strings.TrimSpace(opt) == "" {
		return 0, nil
	}
	var o struct {
		BestFrameNum *int `json:"BestFrameNum"`
	}
	if err := json.Unmarshal([]byte(opt), &o); err != nil {
		return 0, apiErr(engine.CodeInvalidParameterValue, `Optional must be a JSON object such as {"BestFrameNum":2}`)
	}
	if o.BestFrameNum == nil {
		return 0, nil
	}
	if n := *o.BestFrameNum; n < 1 || n > 10 {
		return 0, apiErr(engine.CodeInvalidParameterValue, "BestFrameNum must be 1 to 10")
	}
	return *o.BestFrameNum, nil
}

func (s *Server) livenessRun(k *call, cmp engine.VideoCompare) (*engine.VerifyResult, error) {
	var p livenessParams
	if err := decode(k, &p); err != nil {
		return nil, err
	}
	switch cmp {
	case engine.VideoCompareGallery:
		if err := s.decrypt(p.Encryption, map[string]*string{"IdCard": &p.IdCard, "Name": &p.Name}); err != nil {
			return nil, err
		}
		if err := required("IdCard", p.IdCard); err != nil {
			return nil, err
		}
		if err := required("Name", p.Name); err != nil {
			return nil, err
		}
	default:
		if err := refuseEncryption(p.Encryption, k.action); err != nil {
			return nil, err
		}
	}
	if err := required("LivenessType", p.LivenessType); err != nil {
		return nil, err
	}
	if e := engine.CheckLivenessType(p.LivenessType); e != nil {
		return nil, e
	}
	n, err := bestFrameNum(p.Optional)
	if err != nil {
		return nil, err
	}
	if p.VideoBase64 == "" && p.VideoUrl == "" {
		return nil, apiErr(codeMissingParameter, "missing parameter VideoBase64 (or VideoUrl)")
	}
	video, err := s.media(k, "Video", p.VideoBase64, p.VideoUrl)
	if err != nil {
		return nil, err
	}
	req := k.request()
	req.Video, req.LivenessType, req.BestFrameNum = video, p.LivenessType, n
	req.IDNumber, req.Name = p.IdCard, p.Name
	if cmp == engine.VideoComparePhoto {
		if p.ImageBase64 == "" && p.ImageUrl == "" {
			return nil, apiErr(codeMissingParameter, "missing parameter ImageBase64 (or ImageUrl)")
		}
		if req.Image, err = s.media(k, "Image", p.ImageBase64, p.ImageUrl); err != nil {
			return nil, err
		}
	}
	k.lap("decode")
	return s.verification(k, func() (*engine.VerifyResult, error) { return s.opt.Verifier.VideoLiveness(k.ctx, req, cmp) })
}

func frames(r *engine.VerifyResult) (string, []string) {
	best := ""
	if len(r.BestFrame) > 0 {
		best = base64.StdEncoding.EncodeToString(r.BestFrame)
	}
	list := []string{}
	for _, f := range r.BestFrames {
		list = append(list, base64.StdEncoding.EncodeToString(f))
	}
	return best, list
}

func (s *Server) livenessCompare(k *call) (any, error) {
	return s.livenessWithCompare(k, engine.VideoComparePhoto)
}

func (s *Server) livenessRecognition(k *call) (any, error) {
	return s.livenessWithCompare(k, engine.VideoCompareGallery)
}

// livenessWithCompare is LivenessCompare and LivenessRecognition: the same
// answer, compared with the caller's photo or the gallery's.
func (s *Server) livenessWithCompare(k *call, src engine.VideoCompare) (any, error) {
	r, err := s.livenessRun(k, src)
	if err != nil {
		return nil, err
	}
	best, list := frames(r)
	return livenessCompareOut{BestFrameBase64: best, Sim: r.Sim, Result: r.Result, Description: r.Describe(k.lang), BestFrameList: list}, nil
}

func (s *Server) liveness(k *call) (any, error) {
	r, err := s.livenessRun(k, engine.VideoCompareNone)
	if err != nil {
		return nil, err
	}
	best, list := frames(r)
	return livenessOut{BestFrameBase64: best, Result: r.Result, Description: r.Describe(k.lang), BestFrameList: list}, nil
}

// --- challenges ---

func (s *Server) getActionSequence(k *call) (any, error) {
	var p struct {
		ActionType string `json:"ActionType"`
	}
	if err := decode(k, &p); err != nil {
		return nil, err
	}
	// 1 open mouth, 2 close eyes, in a random order.
	seq := "1,2"
	if randInt(2) == 1 {
		seq = "2,1"
	}
	return struct {
		ActionSequence string `json:"ActionSequence"`
	}{seq}, nil
}

func (s *Server) getLiveCode(k *call) (any, error) {
	var p struct{}
	if err := decode(k, &p); err != nil {
		return nil, err
	}
	var b strings.Builder
	for range 4 {
		b.WriteByte(byte('0' + randInt(10)))
	}
	return struct {
		LiveCode string `json:"LiveCode"`
	}{b.String()}, nil
}

func randInt(n int64) int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return 0
	}
	return v.Int64()
}
