package main

// Commands whose issues have not landed yet. Each moves to its own cmd_*.go
// file when it is built.

func notYet(e *env, name string) int {
	e.stderr.Write([]byte("heshen: " + name + " is not available in this build\n"))
	return 2
}
