// Package notify delivers alerts and daily reports: a JSON POST to a
// webhook, or an e-mail over SMTP (net/smtp, STARTTLS when the server
// offers it). It imports only the standard library and engine.
package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"heshen/engine"
)

// Channel kinds.
const (
	KindWebhook = "webhook"
	KindEmail   = "email"
)

// Channel is one place notifications go.
type Channel struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Kind string `json:"kind"` // webhook or email

	URL string `json:"url,omitempty"` // webhook: http(s) URL receiving a JSON POST

	SMTPAddr string   `json:"smtp_addr,omitempty"` // email: host:port of the SMTP server
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	Username string   `json:"username,omitempty"` // PLAIN auth, only over TLS or to localhost
	Password string   `json:"password,omitempty"`
	// RequireTLS refuses servers that do not offer STARTTLS.
	RequireTLS bool `json:"require_tls,omitempty"`

	Disabled  bool      `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

func bad(zh, format string, args ...any) error {
	return engine.Errorf(engine.CodeInvalidParameterValue, zh, format, args...)
}

// Validate checks a channel before it is saved.
func (c *Channel) Validate() error {
	if strings.ContainsAny(c.Name, "\r\n") || len(c.Name) > 200 {
		return bad("名称无效", "name must be one line of at most 200 bytes")
	}
	switch c.Kind {
	case KindWebhook:
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(c.URL) > 2048 {
			return bad("Webhook 地址无效", "webhook URL must be an absolute http(s) URL of at most 2048 bytes")
		}
	case KindEmail:
		host, port, err := net.SplitHostPort(c.SMTPAddr)
		if err != nil || host == "" || port == "" {
			return bad("SMTP 服务器地址应为 主机:端口", "SMTP server must be host:port")
		}
		if _, err := mail.ParseAddress(c.From); err != nil || strings.ContainsAny(c.From, "\r\n") {
			return bad("发件人地址无效", "from address is invalid")
		}
		if len(c.To) == 0 || len(c.To) > 50 {
			return bad("收件人应为1到50个地址", "give 1 to 50 recipients")
		}
		for _, t := range c.To {
			if _, err := mail.ParseAddress(t); err != nil || strings.ContainsAny(t, "\r\n") {
				return bad("收件人地址无效", "recipient %q is invalid", t)
			}
		}
		if strings.ContainsAny(c.Username+c.Password, "\r\n") {
			return bad("用户名或密码无效", "username or password contains a line break")
		}
	default:
		return bad("通知渠道类型应为 webhook 或 email", "kind must be webhook or email, not %q", c.Kind)
	}
	return nil
}

// Message is what is sent: a subject and a plain-text body for people, and
// the structured data for machines (the webhook's "data").
type Message struct {
	Kind    string    `json:"kind"` // alert, report, test
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	Data    any       `json:"data,omitempty"`
	Time    time.Time `json:"time"`
}

// Sender delivers messages. The zero value is usable.
type Sender struct {
	// HTTP is the webhook client (default: a client with Timeout).
	HTTP *http.Client
	// Timeout bounds one delivery (default 10 s).
	Timeout time.Duration
	// Hostname is sent in EHLO (default "heshen").
	Hostname string
	// TLS configures STARTTLS (default: verify the server's name).
	TLS *tls.Config
}

func (s *Sender) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Second
}

// Send delivers m on c.
func (s *Sender) Send(ctx context.Context, c *Channel, m Message) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	if c.Kind == KindWebhook {
		return s.webhook(ctx, c, m)
	}
	return s.email(ctx, c, m)
}

func (s *Sender) webhook(ctx context.Context, c *Channel, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "heshen-notify/1")
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: s.timeout()}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (s *Sender) email(ctx context.Context, c *Channel, m Message) error {
	host, _, _ := net.SplitHostPort(c.SMTPAddr)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.SMTPAddr)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	defer cl.Close()
	name := s.Hostname
	if name == "" {
		name = "heshen"
	}
	if err := cl.Hello(name); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if ok, _ := cl.Extension("STARTTLS"); ok {
		cfg := s.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		if err := cl.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	} else if c.RequireTLS {
		return fmt.Errorf("smtp: %s does not offer STARTTLS", c.SMTPAddr)
	}
	if c.Username != "" {
		// PlainAuth itself refuses to send the password without TLS,
		// except to localhost.
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	from, _ := mail.ParseAddress(c.From)
	if err := cl.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp MAIL: %w", err)
	}
	var to []string
	for _, t := range c.To {
		a, _ := mail.ParseAddress(t)
		to = append(to, a.String())
		if err := cl.Rcpt(a.Address); err != nil {
			return fmt.Errorf("smtp RCPT %s: %w", a.Address, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(buildMail(from.String(), to, m, name)); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return cl.Quit()
}

// buildMail writes a UTF-8 plain-text message: subject RFC 2047-encoded,
// body base64 in 76-character lines.
func buildMail(from string, to []string, m Message, host string) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	rand.Read(id)
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", strings.Join(to, ", "))
	hdr("Subject", mime.BEncoding.Encode("utf-8", strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject)))
	hdr("Date", m.Time.Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id)+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "base64")
	hdr("X-Heshen-Kind", m.Kind)
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(m.Text))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}
