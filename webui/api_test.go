package webui_test

import (
	"strings"
	"testing"
	"time"

	faceid "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/faceid/v20180301"

	"heshen/engine"
)

func imageRecognition(t *testing.T, c *faceid.Client, id, name string, img string) (*faceid.ImageRecognitionResponse, error) {
	t.Helper()
	req := faceid.NewImageRecognitionRequest()
	req.IdCard, req.Name, req.ImageBase64 = ptr(id), ptr(name), ptr(img)
	return c.ImageRecognition(req)
}

func TestImageRecognitionSDK(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	same := b64(readFace(t, "face_recognition/examples/obama-480p.jpg"))
	scenarios := []struct {
		name, id, person, img string
		want                  string
		wantPass              bool
	}{
		{"SamePerson", obamaID, obamaName, b64(readFace(t, "face_recognition/examples/obama2.jpg")), engine.ResultSuccess, true},
		{"SamePersonDataURL", obamaID, obamaName, "data:image/jpeg;base64," + same, engine.ResultSuccess, true},
		{"DifferentPerson", bidenID, bidenName, same, engine.CodeLowSimilarity, false},
		{"SeveralFaces", obamaID, obamaName, b64(readFace(t, "face_recognition/examples/two_people.jpg")), engine.CodeSeveralFaces, false},
		{"NoFace", obamaID, obamaName, b64(noFacePNG(t)), engine.CodeNoFaces, false},
		{"CorruptImage", obamaID, obamaName, b64([]byte("\xff\xd8\xff\xe0 this is not really a JPEG at all, just bytes")), engine.CodeImageDecodeFailed, false},
		{"TruncatedImage", obamaID, obamaName, b64(readFace(t, "face_recognition/examples/obama-480p.jpg")[:5000]), engine.CodeImageDecodeFailed, false},
		{"BadIDNumber", "110105194912310021", obamaName, same, engine.CodeIDFormat, false},
		{"LowerCaseX", "11010519491231002x", obamaName, same, engine.CodeIDFormat, false},
		{"BadName", obamaID, "Obama 2", same, engine.CodeNameFormat, false},
		{"NotInGallery", "110101199003077774", "王五", same, engine.CodeIDNotInSystem, false},
		{"NameMismatch", obamaID, bidenName, same, engine.CodeIDNameMismatch, false},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			resp, err := imageRecognition(t, c, sc.id, sc.person, sc.img)
			if err != nil {
				t.Fatalf("SDK error: %v", err)
			}
			r := resp.Response
			if *r.Result != sc.want {
				t.Fatalf("Result = %s (%s), want %s", *r.Result, *r.Description, sc.want)
			}
			if r.RequestId == nil || *r.RequestId == "" || r.Description == nil || *r.Description == "" {
				t.Errorf("missing RequestId or Description: %s", resp.ToJsonString())
			}
			if sc.wantPass && *r.Sim < 70 {
				t.Errorf("Sim = %.2f, want >= 70", *r.Sim)
			}
			if !sc.wantPass && *r.Sim >= 70 {
				t.Errorf("Sim = %.2f on a failure", *r.Sim)
			}
			t.Logf("%s: Sim %.2f %s", *r.Result, *r.Sim, *r.Description)
		})
	}
	// Every verification wrote exactly one complete record.
	recs := h.records()
	if len(recs) != len(scenarios) {
		t.Fatalf("records = %d, want %d", len(recs), len(scenarios))
	}
	for _, r := range recs {
		if r.ID == "" || r.RequestID == "" || r.Action != "ImageRecognition" || r.Result == "" || r.AppID != h.appID || len(r.Stages) == 0 || r.CreatedAt.IsZero() {
			t.Errorf("incomplete record: %+v", r)
		}
	}
}

func TestIdCardVerificationSDK(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	scenarios := []struct{ name, id, person, want string }{
		{"Match", obamaID, obamaName, "0"},
		{"Mismatch", obamaID, "李四", "-1"},
		{"BadIDNumber", "110105194912310021", obamaName, "-2"},
		{"BadRegion", "991234199001011234", obamaName, "-2"},
		{"BadName", obamaID, "12345", "-3"},
		{"NoRecord", "110101199003077774", "王五", "-5"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			req := faceid.NewIdCardVerificationRequest()
			req.IdCard, req.Name = ptr(sc.id), ptr(sc.person)
			resp, err := c.IdCardVerification(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := *resp.Response.Result; got != sc.want {
				t.Fatalf("Result = %q (%s), want %q", got, *resp.Response.Description, sc.want)
			}
		})
	}
	if n := len(h.records()); n != len(scenarios) {
		t.Errorf("records = %d, want %d", n, len(scenarios))
	}
}

func TestCheckIdNameDate(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	future := time.Now().AddDate(5, 0, 0).Format("20060102")
	scenarios := []struct{ name, id, person, begin, end, want string }{
		{"Match", obamaID, obamaName, "20200101", future, "0"},
		{"LongTerm", obamaID, obamaName, "20200101", "00000000", "0"},
		{"Mismatch", obamaID, "李四", "20200101", future, "-1"},
		{"BadID", "110105194912310021", obamaName, "20200101", future, "-2"},
		{"BadName", obamaID, "x1", "20200101", future, "-3"},
		{"BadDate", obamaID, obamaName, "2020-01-01", future, "-4"},
		{"Expired", obamaID, obamaName, "20000101", "20100101", "-4"},
		{"NoRecord", "110101199003077774", "王五", "20200101", future, "-7"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			out, err := h.call(c, "CheckIdNameDate", map[string]any{"IdCard": sc.id, "Name": sc.person, "ValidityBegin": sc.begin, "ValidityEnd": sc.end})
			if err != nil {
				t.Fatal(err)
			}
			if out["Result"] != sc.want {
				t.Fatalf("Result = %v (%v), want %s", out["Result"], out["Description"], sc.want)
			}
		})
	}
}

func TestImageRecognitionV2Extra(t *testing.T) {
	h := newHarness(t)
	c := h.sdk()
	img := b64(readFace(t, "face_recognition/examples/obama-480p.jpg"))
	out, err := h.call(c, "ImageRecognitionV2", map[string]any{"IdCard": obamaID, "Name": obamaName, "ImageBase64": img, "Extra": "abc"})
	if err != nil {
		t.Fatal(err)
	}
	if out["Result"] != engine.ResultSuccess || out["Extra"] != "abc" || out["Sim"].(float64) < 70 {
		t.Fatalf("got %v", out)
	}
	_, err = h.call(c, "ImageRecognitionV2", map[string]any{"IdCard": obamaID, "Name": obamaName, "ImageBase64": img, "Extra": strings.Repeat("x", 11)})
	if got := sdkCode(t, err); got != engine.CodeInvalidParameterValue {
		t.Fatalf("long Extra: %s", got)
	}
}
