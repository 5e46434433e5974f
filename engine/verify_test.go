package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memStore implements the few Store methods the verifier uses; calling any
// other panics through the nil embedded interface.
type memStore struct {
	Store
	mu      sync.Mutex
	ids     map[string]*Identity
	records []*Record
	failRec bool
}

func (m *memStore) FindIdentity(_ context.Context, id string) (*Identity, error) {
	if i, ok := m.ids[id]; ok {
		return i, nil
	}
	return nil, &Error{Code: CodeResourceNotFound}
}

func (m *memStore) CreateRecord(_ context.Context, r *Record) error {
	if m.failRec {
		return errors.New("disk full")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records = append(m.records, r)
	return nil
}

// fakeFaces returns a fixed analysis per input.
type fakeFaces struct {
	byImage map[string]*Analysis
}

func (f *fakeFaces) Analyze(_ context.Context, img []byte, _ AnalyzeOptions) (*Analysis, error) {
	a, ok := f.byImage[string(img)]
	if !ok {
		return nil, &Error{Code: CodeImageDecodeFailed}
	}
	return a, nil
}

func (f *fakeFaces) AnalyzeFrame(context.Context, Frame, AnalyzeOptions) (*Analysis, error) {
	return nil, errors.New("not used")
}

func (f *fakeFaces) EncodeJPEG(Frame, int) ([]byte, error) { return nil, errors.New("not used") }

func unit(i int) []float32 {
	v := make([]float32, EmbeddingSize)
	v[i] = 1
	return v
}

func oneFace(emb []float32) *Analysis {
	return &Analysis{Width: 100, Height: 100, Chosen: 0, Faces: []Face{{Embedding: emb}}}
}

func TestVerifierCompareImage(t *testing.T) {
	st := &memStore{ids: map[string]*Identity{"11010519491231002X": {IDNumber: "11010519491231002X", Name: "张三", Embedding: unit(0)}}}
	ff := &fakeFaces{byImage: map[string]*Analysis{
		"same":    oneFace(unit(0)),
		"other":   oneFace(unit(1)),
		"several": {Chosen: 0, Faces: []Face{{Embedding: unit(0)}, {}}, Findings: []Finding{FindAmbiguous}},
		"none":    {Chosen: -1, Findings: []Finding{FindNoFace}},
	}}
	v, err := NewVerifier(VerifierOptions{Faces: ff, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ img, want string }{
		{"same", ResultSuccess}, {"other", CodeLowSimilarity}, {"several", CodeSeveralFaces},
		{"none", CodeNoFaces}, {"garbage", CodeImageDecodeFailed}, {"", CodeEmptyImage},
	}
	for _, c := range cases {
		r, err := v.CompareImage(context.Background(), &VerifyRequest{Action: "ImageRecognition", RequestID: "r", IDNumber: "11010519491231002X", Name: "张三", Image: []byte(c.img)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Result != c.want {
			t.Errorf("%s: %s, want %s", c.img, r.Result, c.want)
		}
		if (r.Result == ResultSuccess) != (r.Record.ErrCode == 0) {
			t.Errorf("%s: ErrCode %d", c.img, r.Record.ErrCode)
		}
	}
	if len(st.records) != len(cases) {
		t.Fatalf("records %d", len(st.records))
	}
	// A failed record write is an error, not a result without a record.
	st.failRec = true
	if _, err := v.CompareImage(context.Background(), &VerifyRequest{IDNumber: "11010519491231002X", Name: "张三", Image: []byte("same")}); ErrorCode(err) != CodeDBError {
		t.Fatalf("got %v", err)
	}
}

func TestCheckValidity(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	v, _ := NewVerifier(VerifierOptions{Faces: &fakeFaces{}, Store: &memStore{}, Now: func() time.Time { return now }})
	for _, c := range []struct {
		b, e string
		ok   bool
	}{
		{"20200101", "20300101", true}, {"20200101", "00000000", true}, {"20160601", "20260601", true},
		{"20160601", "20260530", false}, {"20300101", "20400101", false}, {"20200101", "20190101", false},
		{"2020010", "20300101", false}, {"20200230", "20300101", false}, {"20200101", "", false},
	} {
		if err := v.checkValidity(c.b, c.e); (err == nil) != c.ok {
			t.Errorf("%s-%s: %v", c.b, c.e, err)
		}
	}
}

func TestCheckLivenessType(t *testing.T) {
	for typ, want := range map[string]string{"SILENT": "", "ACTION": CodeUnsupportedOperation, "LIP": CodeUnsupportedOperation, "": CodeMissingParameter, "silent": CodeInvalidParameterValue} {
		err := CheckLivenessType(typ)
		got := ""
		if err != nil {
			got = err.Code
		}
		if got != want {
			t.Errorf("%q: %q, want %q", typ, got, want)
		}
	}
}

func TestSniffVideo(t *testing.T) {
	for in, want := range map[string]string{"\x00\x00\x00\x18ftypmp42": "mp4", "\x1a\x45\xdf\xa3....": "webm", "RIFF\x00\x00\x00\x00AVI LIST": "avi", "FLV\x01": "flv", "GIF89a": ""} {
		if got := SniffVideo([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
