package main

// Commands whose issues have not landed yet. Each moves to its own cmd_*.go
// file when it is built.

func notYet(e *env, name string) int {
	e.stderr.Write([]byte("heshen: " + name + " is not available in this build\n"))
	return 2
}

func cmdPolicy(e *env) int  { return notYet(e, "policy") }
func cmdApp(e *env) int     { return notYet(e, "app") }
func cmdGallery(e *env) int { return notYet(e, "gallery") }
func cmdRule(e *env) int    { return notYet(e, "rule") }
func cmdBackup(e *env) int  { return notYet(e, "backup") }
func cmdRestore(e *env) int { return notYet(e, "restore") }
func cmdLogs(e *env) int    { return notYet(e, "logs") }
func cmdServe(e *env) int   { return notYet(e, "serve") }
func cmdCompare(e *env) int { return notYet(e, "compare") }
func cmdEval(e *env) int    { return notYet(e, "eval") }
