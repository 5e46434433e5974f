package main

func cmdServe(e *env) int { return notYet(e, "Serve") }
