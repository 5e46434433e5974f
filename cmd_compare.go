package main

func cmdCompare(e *env) int { return notYet(e, "Compare") }
func cmdEval(e *env) int    { return notYet(e, "Eval") }
