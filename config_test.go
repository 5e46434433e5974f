package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The example file documents every key at its default.
func TestConfigExample(t *testing.T) {
	c, err := LoadConfig("config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	if d := DefaultConfig(); !reflect.DeepEqual(c, d) {
		t.Fatalf("example differs from the defaults:\n%+v\n%+v", c, d)
	}
	b, err := os.ReadFile("config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Every key of the struct appears in the file.
	var walk func(t reflect.Type)
	walk = func(ty reflect.Type) {
		for i := range ty.NumField() {
			f := ty.Field(i)
			tag := f.Tag.Get("toml")
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(Duration{}) {
				if !strings.Contains(string(b), "["+tag+"]") {
					t.Errorf("section [%s] missing", tag)
				}
				walk(f.Type)
				continue
			}
			if !strings.Contains(string(b), "\n"+tag+" = ") {
				t.Errorf("key %s missing", tag)
			}
		}
	}
	walk(reflect.TypeOf(Config{}))
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "c.toml")
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	c, err := LoadConfig(write("listen = \"127.0.0.1:9000\"\n[api]\nsignature_skew = \"2m\"\nurl_allow_hosts = [\"cdn.example.com\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.API.SignatureSkew.Duration != 2*time.Minute || c.API.URLAllowHosts[0] != "cdn.example.com" || c.DataDir != "heshen-data" {
		t.Fatalf("got %+v", c)
	}
	for _, bad := range []string{
		"lisen = \":80\"",                   // typo: unknown key
		"[api]\nsignature_skew = \"5 min\"", // bad duration
		"[verify]\npass_sim = 120.0",
		"[verify]\nface_policy = \"best\"",
		"[tls]\ncert = \"a.pem\"",
		"[retention]\nmedia = \"0s\"",
		"data_dir = 3",
	} {
		if _, err := LoadConfig(write(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("accepted a missing file")
	}
}
