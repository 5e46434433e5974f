// Command heshen is a self-hosted face identity verification appliance that
// speaks Tencent Cloud FaceID's API. main.go reads config and wires the
// concrete adapters; each sub-command lives in its own cmd_*.go file.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// env is what every sub-command gets: its arguments and the process streams.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	e := &env{args: args[1:], stdin: stdin, stdout: stdout, stderr: stderr}
	switch args[0] {
	case "serve":
		return cmdServe(e)
	case "compare":
		return cmdCompare(e)
	case "eval":
		return cmdEval(e)
	case "policy":
		return cmdPolicy(e)
	case "app":
		return cmdApp(e)
	case "gallery":
		return cmdGallery(e)
	case "rule":
		return cmdRule(e)
	case "backup":
		return cmdBackup(e)
	case "restore":
		return cmdRestore(e)
	case "logs":
		return cmdLogs(e)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "heshen: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: heshen <command> [flags]

commands:
  serve       run the appliance (API, capture pages, console)
  compare     compare the faces in two photos, print JSON
  eval        evaluate the face engine on a pairs CSV
  policy      check a mini-program's eligibility for face verification
  app         manage apps and their API credentials
  gallery     manage the on-box identity gallery
  rule        manage verification flows (RuleId)
  backup      write a hot backup of the data store
  restore     restore the data store from a backup
  logs        search or reindex the operation logs
  version     print the version
`)
}
