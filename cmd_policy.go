package main

func cmdPolicy(e *env) int { return notYet(e, "Policy") }
