package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"heshen/engine"
	"heshen/store/oplog"
)

const logsUsage = `usage:
  heshen logs search --data DIR [--q TEXT] [--from T] [--to T] [--app ID] [--action A]
                     [--code C] [--request-id ID] [--biz-token T] [--kind K] [--actor U]
                     [--page N] [--size N] [--oldest] [--facets] [--json]
  heshen logs reindex --data DIR

T is RFC 3339 (2025-03-01T09:00:00+08:00), a local date or date and time
(2025-03-01, "2025-03-01 09:00"), or an age (90m, 24h, 7d) before now; a
--to date alone means the end of that day. The data directory must not be
in use by a running server.
`

func cmdLogs(e *env) int {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, logsUsage)
		return 2
	}
	switch e.args[0] {
	case "search":
		return logsSearch(e, e.args[1:])
	case "reindex":
		return logsReindex(e, e.args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, logsUsage)
		return 0
	}
	fmt.Fprintf(e.stderr, "heshen logs: unknown sub-command %q\n%s", e.args[0], logsUsage)
	return 2
}

// openLogs opens an existing operation log for the CLI.
func openLogs(e *env, dir string) (*oplog.Log, bool) {
	if _, err := os.Stat(filepath.Join(dir, oplog.DBFile)); err != nil {
		fmt.Fprintf(e.stderr, "heshen logs: no operation log in %s\n", dir)
		return nil, false
	}
	l, err := oplog.Open(dir, oplog.Options{SweepEvery: -1, Logf: func(f string, a ...any) { fmt.Fprintf(e.stderr, f+"\n", a...) }})
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen logs:", err)
		return nil, false
	}
	return l, true
}

func logsSearch(e *env, args []string) int {
	fs := flag.NewFlagSet("logs search", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, logsUsage) }
	data := fs.String("data", "heshen-data", "data directory")
	var q engine.OpQuery
	fs.StringVar(&q.Text, "q", "", "free text (Chinese or English); all words must match")
	from := fs.String("from", "", "earliest time (inclusive)")
	to := fs.String("to", "", "latest time (exclusive)")
	fs.StringVar(&q.AppID, "app", "", "AppId")
	fs.StringVar(&q.Action, "action", "", "action, e.g. DetectAuth")
	fs.StringVar(&q.Code, "code", "", "result or error code")
	fs.StringVar(&q.RequestID, "request-id", "", "RequestId")
	fs.StringVar(&q.BizToken, "biz-token", "", "BizToken")
	fs.StringVar(&q.Kind, "kind", "", "api, console, cli or system")
	fs.StringVar(&q.Actor, "actor", "", "console user")
	page := fs.Int("page", 1, "page number, from 1")
	size := fs.Int("size", 20, "entries per page (at most 1000)")
	fs.BoolVar(&q.Oldest, "oldest", false, "oldest first")
	fs.BoolVar(&q.Facets, "facets", false, "count matches per action, code and app")
	asJSON := fs.Bool("json", false, `print {"total": N, "hits": [...]} as JSON`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "heshen logs search: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	now := time.Now()
	var err error
	if q.From, err = parseLogTime(*from, now, false); err != nil {
		fmt.Fprintln(e.stderr, "heshen logs search: --from:", err)
		return 2
	}
	if q.To, err = parseLogTime(*to, now, true); err != nil {
		fmt.Fprintln(e.stderr, "heshen logs search: --to:", err)
		return 2
	}
	if *page < 1 || *size < 1 || *size > 1000 {
		fmt.Fprintln(e.stderr, "heshen logs search: --page must be ≥ 1 and --size between 1 and 1000")
		return 2
	}
	q.Limit, q.Offset = *size, (*page-1)**size

	l, ok := openLogs(e, *data)
	if !ok {
		return 1
	}
	defer l.Close()
	ctx := context.Background()
	if l.Stats().Behind {
		fmt.Fprintln(e.stderr, "heshen logs: bringing the index up to date…")
	}
	if err := l.WaitIndexed(ctx); err != nil {
		fmt.Fprintln(e.stderr, "heshen logs search:", err)
		return 1
	}
	res, err := l.Search(ctx, q)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen logs search:", err)
		return 1
	}
	if *asJSON {
		out := struct {
			Total  int                         `json:"total"`
			Hits   []*engine.OpEntry           `json:"hits"`
			Facets map[string][]engine.OpFacet `json:"facets,omitempty"`
		}{res.Total, res.Entries, res.Facets}
		if out.Hits == nil {
			out.Hits = []*engine.OpEntry{}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintln(e.stderr, "heshen logs search:", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tAPP\tACTION\tCODE\tMS\tREQUEST ID")
	for _, h := range res.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.1f\t%s\n", h.Time.Local().Format("2006-01-02 15:04:05.000"),
			h.Kind, h.AppID, h.Action, h.Code, h.DurationMs, h.RequestID)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d of %d (page %d)\n", len(res.Entries), res.Total, *page)
	for _, name := range []string{"action", "code", "app_id"} {
		if f := res.Facets[name]; len(f) > 0 {
			parts := make([]string, len(f))
			for i, t := range f {
				parts[i] = t.Term + "=" + strconv.Itoa(t.Count)
			}
			fmt.Fprintf(e.stdout, "%s: %s\n", name, strings.Join(parts, " "))
		}
	}
	return 0
}

func logsReindex(e *env, args []string) int {
	fs := flag.NewFlagSet("logs reindex", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, logsUsage) }
	data := fs.String("data", "heshen-data", "data directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	l, ok := openLogs(e, *data)
	if !ok {
		return 1
	}
	defer l.Close()
	t0 := time.Now()
	n, err := l.Reindex(context.Background())
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen logs reindex:", err)
		return 1
	}
	fmt.Fprintf(e.stdout, "indexed %d entries in %s\n", n, time.Since(t0).Round(time.Millisecond))
	return 0
}

// parseLogTime reads a --from/--to value; end makes a bare date mean the
// end of that day.
func parseLogTime(s string, now time.Time, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	age := strings.TrimPrefix(s, "-")
	if n, ok := strings.CutSuffix(age, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.AddDate(0, 0, -d), nil
		}
	}
	if d, err := time.ParseDuration(age); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, errors.New("want RFC 3339, a date, a date and time, or an age like 24h or 7d: " + strconv.Quote(s))
}
