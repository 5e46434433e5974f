// Package notifytest has a tiny SMTP sink for tests: it listens on
// 127.0.0.1, speaks enough SMTP for net/smtp (EHLO, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT; no STARTTLS, no AUTH) and keeps every message.
package notifytest

import (
	"bufio"
	"encoding/base64"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// Mail is one received message.
type Mail struct {
	From    string
	To      []string
	Subject string // decoded
	Body    string // decoded when base64
	Header  mail.Header
	Raw     string
}

// SMTPSink is a listening sink; Close stops it.
type SMTPSink struct {
	ln   net.Listener
	mu   sync.Mutex
	mail []Mail
	got  chan struct{}
	wg   sync.WaitGroup
}

// NewSMTPSink listens on a free loopback port.
func NewSMTPSink() (*SMTPSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &SMTPSink{ln: ln, got: make(chan struct{}, 1024)}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is host:port.
func (s *SMTPSink) Addr() string { return s.ln.Addr().String() }

// Close stops listening and waits for open sessions.
func (s *SMTPSink) Close() error {
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Messages returns what arrived so far.
func (s *SMTPSink) Messages() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

// Wait waits until at least n messages arrived or d passes, and returns
// what arrived.
func (s *SMTPSink) Wait(n int, d time.Duration) []Mail {
	deadline := time.After(d)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.got:
		case <-deadline:
			return s.Messages()
		}
	}
}

func (s *SMTPSink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
		}()
	}
}

func (s *SMTPSink) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 sink ESMTP")
	var cur Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-sink")
			say("250 8BITMIME")
		case "MAIL":
			cur = Mail{From: addrArg(line)}
			say("250 ok")
		case "RCPT":
			cur.To = append(cur.To, addrArg(line))
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var sb strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
				sb.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Raw = sb.String()
			parse(&cur)
			s.mu.Lock()
			s.mail = append(s.mail, cur)
			s.mu.Unlock()
			select {
			case s.got <- struct{}{}:
			default:
			}
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func addrArg(line string) string {
	if i := strings.IndexByte(line, '<'); i >= 0 {
		if j := strings.IndexByte(line[i:], '>'); j > 0 {
			return line[i+1 : i+j]
		}
	}
	return ""
}

func parse(m *Mail) {
	msg, err := mail.ReadMessage(strings.NewReader(m.Raw))
	if err != nil {
		return
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	}
	body, _ := io.ReadAll(msg.Body)
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "base64") {
		if b, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(body))); err == nil {
			body = b
		}
	}
	m.Body = string(body)
}
