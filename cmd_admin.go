package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"heshen/engine"
	"heshen/store"
)

// The admin socket lets the CLI manage a store that a running server holds
// open. It is a unix socket in the data directory, mode 0600, so only the
// server's own user (or root) can connect; it speaks JSON over HTTP with
// one endpoint, POST /admin, taking an adminRequest.

// adminSocketName is the socket's file name in the data directory.
const adminSocketName = "admin.sock"

// adminMaxRequest bounds a request body: requests carry paths, not files.
const adminMaxRequest = 1 << 20

// adminResponse is the socket's answer: a result or an error.
type adminResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
	Error  *engine.Error   `json:"error,omitempty"`
	// Text keeps a foreign error's message, which engine.Error would hide.
	Text string `json:"text,omitempty"`
}

// startAdminSocket serves the management commands for db on
// dataDir/admin.sock until the returned Closer is closed. `heshen serve`
// calls it after opening the store; fe is its face engine (gallery
// commands embed photos with it). A socket file left by a dead server is
// replaced; one answered by a live server is an error.
//
// Changes made through the socket are written to ops when given.
func startAdminSocket(dataDir string, db *store.DB, fe engine.FaceEngine, ops ...engine.OpLog) (io.Closer, error) {
	path := filepath.Join(dataDir, adminSocketName)
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s is served by another process", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale admin socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /admin", func(w http.ResponseWriter, r *http.Request) {
		var req adminRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, adminMaxRequest))
		dec.DisallowUnknownFields()
		var resp adminResponse
		if err := dec.Decode(&req); err != nil {
			resp.Error = engine.Errorf(engine.CodeInvalidParameter, "请求格式错误", "malformed admin request: %v", err)
		} else if res, err := execAdminLogged(r.Context(), db, fixedFace{fe}, req, ops); err != nil {
			resp.Error = engine.AsError(err)
			var e *engine.Error
			if !errors.As(err, &e) {
				resp.Text = err.Error()
			}
		} else if resp.Result, err = json.Marshal(res); err != nil {
			resp.Error = engine.AsError(err)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(&resp)
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return &adminServer{srv: srv, cancel: cancel, done: done, path: path}, nil
}

type adminServer struct {
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{}
	path   string
}

// Close stops accepting, gives running commands 10 s to finish, then
// cancels them and removes the socket file.
func (s *adminServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	s.cancel()
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	os.Remove(s.path)
	return nil
}

// adminCall sends req to the server holding the store in dataDir.
func adminCall(ctx context.Context, dataDir string, req adminRequest) (any, error) {
	path := filepath.Join(dataDir, adminSocketName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w, and %s does not exist: the process holding it is not a heshen server with an admin socket", store.ErrLocked, path)
	}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://heshen/admin", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	res, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	defer res.Body.Close()
	var resp adminResponse
	if err := json.NewDecoder(res.Body).Decode(&resp); err != nil {
		return nil, fmt.Errorf("admin socket %s: bad answer (HTTP %d): %w", path, res.StatusCode, err)
	}
	if resp.Error != nil {
		if resp.Text != "" {
			return nil, errors.New(resp.Text)
		}
		return nil, resp.Error
	}
	if req.Op == "gallery.import" { // keep its type: a failed row sets the exit code
		var rep importReport
		if err := json.Unmarshal(resp.Result, &rep); err != nil {
			return nil, err
		}
		return &rep, nil
	}
	return resp.Result, nil
}

// execAdminLogged runs a request from the socket and logs it if it changes state.
func execAdminLogged(ctx context.Context, db *store.DB, fs faceSource, req adminRequest, ops []engine.OpLog) (any, error) {
	t0 := time.Now()
	res, err := execAdmin(ctx, db, fs, req)
	if changesState[req.Op] {
		for _, ol := range ops {
			if ol != nil {
				ol.Append(changeEntry(engine.OpKindCLI, req, res, err, t0))
			}
		}
	}
	return res, err
}
