package webui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"heshen/engine"
)

// Codes of URL downloads (reference §1 FaceID codes).
const (
	codeDownload        = "FailedOperation.DownLoadError"
	codeDownloadTimeout = "FailedOperation.DownLoadTimeoutError"
)

// fetchLimit bounds a downloaded image or video (the 8 MB video limit plus slack).
const fetchLimit = 9 << 20

// fetcher downloads ImageUrl/VideoUrl, only from allow-listed hosts, so the
// API cannot be used to reach arbitrary addresses.
type fetcher struct {
	allow  []string
	client *http.Client
}

func newFetcher(allow []string, timeout time.Duration) *fetcher {
	f := &fetcher{}
	for _, h := range allow {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			f.allow = append(f.allow, h)
		}
	}
	f.client = &http.Client{
		Timeout: timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if !f.allowed(req.URL) {
				return errors.New("redirect to a host that is not allowed")
			}
			return nil
		},
	}
	return f
}

// allowed matches the URL's host (with or without port) against the list.
func (f *fetcher) allowed(u *url.URL) bool {
	host := strings.ToLower(u.Hostname())
	hostPort := strings.ToLower(u.Host)
	for _, a := range f.allow {
		switch {
		case a == host || a == hostPort:
			return true
		case strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]):
			return true
		}
	}
	return false
}

func (f *fetcher) get(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, apiErr(engine.CodeInvalidParameterValue, "the URL must be an absolute http or https URL")
	}
	if !f.allowed(u) {
		return nil, apiErr(engine.CodeInvalidParameterValue, "URL downloads are allowed only from configured hosts (api.url_allow_hosts); "+u.Hostname()+" is not one of them")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, apiErr(engine.CodeInvalidParameterValue, "bad URL")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, apiErr(codeDownloadTimeout, "the download timed out")
		}
		return nil, apiErr(codeDownload, "the download failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apiErr(codeDownload, fmt.Sprintf("the download answered HTTP %d", resp.StatusCode))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, fetchLimit+1))
	if err != nil {
		return nil, apiErr(codeDownload, "the download failed")
	}
	if len(b) > fetchLimit {
		return nil, apiErr(codeDownload, "the downloaded file is too large")
	}
	return b, nil
}
