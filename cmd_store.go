package main

func cmdApp(e *env) int     { return notYet(e, "App") }
func cmdGallery(e *env) int { return notYet(e, "Gallery") }
func cmdRule(e *env) int    { return notYet(e, "Rule") }
func cmdBackup(e *env) int  { return notYet(e, "Backup") }
func cmdRestore(e *env) int { return notYet(e, "Restore") }
