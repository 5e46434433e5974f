package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"heshen/engine"
	"heshen/engine/eligibility"
)

// Exit codes of `heshen policy check`, so scripts can branch on the verdict.
const (
	policyExitEligible      = 0
	policyExitIneligible    = 1
	policyExitBadInput      = 2
	policyExitNotApplicable = 3
)

const policyUsage = `usage:
  heshen policy check [--policy FILE.toml] FILE.json|-   check a mini-program, print the verdict JSON
  heshen policy default                                 print the embedded policy (start a site file from it)
  heshen policy validate FILE.toml                      check a policy file, print its version

check exits 0 eligible, 1 ineligible, 3 not applicable (nothing collects faces), 2 bad input.
`

func cmdPolicy(e *env) int {
	if len(e.args) == 0 {
		fmt.Fprint(e.stderr, policyUsage)
		return policyExitBadInput
	}
	switch e.args[0] {
	case "check":
		return policyCheck(e, e.args[1:])
	case "default":
		e.stdout.Write(eligibility.DefaultPolicy())
		return 0
	case "validate":
		if len(e.args) != 2 {
			fmt.Fprint(e.stderr, policyUsage)
			return policyExitBadInput
		}
		c, err := eligibility.Load(e.args[1])
		if err != nil {
			fmt.Fprintln(e.stderr, "heshen policy validate:", err)
			return policyExitBadInput
		}
		fmt.Fprintln(e.stdout, "ok: policy version", c.Version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, policyUsage)
		return 0
	}
	fmt.Fprintf(e.stderr, "heshen policy: unknown sub-command %q\n%s", e.args[0], policyUsage)
	return policyExitBadInput
}

func policyCheck(e *env, args []string) int {
	fs := flag.NewFlagSet("policy check", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, policyUsage) }
	policyFile := fs.String("policy", "", "site policy file (TOML) replacing the embedded default")
	// Flags may come before or after the file name.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return policyExitBadInput
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		files = append(files, args[0])
		args = args[1:]
	}
	if len(files) != 1 {
		fmt.Fprint(e.stderr, policyUsage)
		return policyExitBadInput
	}

	checker, err := eligibility.Load(*policyFile)
	if err != nil {
		fmt.Fprintln(e.stderr, "heshen policy check:", err)
		return policyExitBadInput
	}
	var r io.Reader = e.stdin
	if files[0] != "-" {
		f, err := os.Open(files[0])
		if err != nil {
			fmt.Fprintln(e.stderr, "heshen policy check:", err)
			return policyExitBadInput
		}
		defer f.Close()
		r = f
	}
	in, err := eligibility.DecodeInput(r)
	if err == nil {
		err = checker.Validate(in)
	}
	if err != nil {
		ee := engine.AsError(err)
		fmt.Fprintf(e.stderr, "heshen policy check: %s: %s (%s)\n", ee.Code, ee.EN, ee.Message)
		return policyExitBadInput
	}

	v := checker.Check(in)
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(e.stderr, "heshen policy check:", err)
		return policyExitBadInput
	}
	switch v.Verdict {
	case eligibility.Eligible:
		return policyExitEligible
	case eligibility.NotApplicable:
		return policyExitNotApplicable
	}
	return policyExitIneligible
}
