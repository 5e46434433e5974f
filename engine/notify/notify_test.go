package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"heshen/engine"
	"heshen/engine/notify"
	"heshen/engine/notify/notifytest"
)

func TestWebhook(t *testing.T) {
	got := make(chan notify.Message, 1)
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype = r.Header.Get("Content-Type")
		var m notify.Message
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil {
			w.WriteHeader(400)
			return
		}
		got <- m
	}))
	defer srv.Close()
	var s notify.Sender
	ch := &notify.Channel{Kind: notify.KindWebhook, URL: srv.URL + "/hook"}
	err := s.Send(context.Background(), ch, notify.Message{Kind: "alert", Subject: "告警", Text: "调用量超过阈值", Data: map[string]int{"value": 12}})
	if err != nil {
		t.Fatal(err)
	}
	m := <-got
	if m.Subject != "告警" || m.Kind != "alert" || m.Time.IsZero() || !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("received %+v (%s)", m, ctype)
	}
	// A receiver answering 500 is a failed delivery.
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer fail.Close()
	if err := s.Send(context.Background(), &notify.Channel{Kind: notify.KindWebhook, URL: fail.URL}, notify.Message{}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("500 answer: %v", err)
	}
	// A receiver that hangs is cut off by the timeout.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}))
	defer hang.Close()
	t0 := time.Now()
	quick := notify.Sender{Timeout: 200 * time.Millisecond}
	if err := quick.Send(context.Background(), &notify.Channel{Kind: notify.KindWebhook, URL: hang.URL}, notify.Message{}); err == nil || time.Since(t0) > time.Second {
		t.Errorf("hanging receiver: %v after %v", err, time.Since(t0))
	}
}

func TestEmail(t *testing.T) {
	sink, err := notifytest.NewSMTPSink()
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	var s notify.Sender
	ch := &notify.Channel{Kind: notify.KindEmail, SMTPAddr: sink.Addr(), From: "核身 <heshen@example.org>", To: []string{"ops@example.org", "王五 <wang@example.org>"}}
	text := strings.Repeat("昨日调用量 1234 次,通过率 98.5%。\n", 10)
	if err := s.Send(context.Background(), ch, notify.Message{Kind: "report", Subject: "核身日报 2025-03-09", Text: text}); err != nil {
		t.Fatal(err)
	}
	ms := sink.Wait(1, 5*time.Second)
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	m := ms[0]
	if m.From != "heshen@example.org" || len(m.To) != 2 || m.To[1] != "wang@example.org" {
		t.Errorf("envelope %q %q", m.From, m.To)
	}
	if m.Subject != "核身日报 2025-03-09" || m.Body != text || m.Header.Get("X-Heshen-Kind") != "report" {
		t.Errorf("message subject %q body %q", m.Subject, m.Body)
	}
	// The sink offers no STARTTLS: a channel requiring TLS refuses it, and
	// so does PLAIN auth to a non-local name (net/smtp's own guard).
	req := *ch
	req.RequireTLS = true
	if err := s.Send(context.Background(), &req, notify.Message{Subject: "x"}); err == nil {
		t.Error("RequireTLS sent over plain text")
	}
}

func TestChannelValidate(t *testing.T) {
	for _, c := range []notify.Channel{
		{Kind: "sms"},
		{Kind: notify.KindWebhook, URL: "ftp://x/"},
		{Kind: notify.KindWebhook, URL: "/relative"},
		{Kind: notify.KindEmail, SMTPAddr: "mail.example.org", From: "a@b.c", To: []string{"d@e.f"}},
		{Kind: notify.KindEmail, SMTPAddr: "mail:25", From: "not an address", To: []string{"d@e.f"}},
		{Kind: notify.KindEmail, SMTPAddr: "mail:25", From: "a@b.c"},
		{Kind: notify.KindEmail, SMTPAddr: "mail:25", From: "a@b.c", To: []string{"d@e.f\r\nBcc: x@y.z"}},
		{Kind: notify.KindWebhook, URL: "http://x/", Name: "a\nb"},
	} {
		if err := c.Validate(); engine.ErrorCode(err) != engine.CodeInvalidParameterValue {
			t.Errorf("%+v: %v", c, err)
		}
	}
	ok := notify.Channel{Kind: notify.KindEmail, SMTPAddr: "127.0.0.1:25", From: "a@b.c", To: []string{"d@e.f"}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}
