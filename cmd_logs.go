package main

func cmdLogs(e *env) int { return notYet(e, "Logs") }
