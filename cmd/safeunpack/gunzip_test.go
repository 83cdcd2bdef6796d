package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/safeunpack/safeunpack/internal/testutil"
	"github.com/safeunpack/safeunpack/unpack"
)

// TestGunzipExternal unpacks the demo image (gzip layers) with each
// external decoder and with the built-in one: the bundles record the same
// layer digests and DiffIDs, so the trees came from identical streams.
func TestGunzipExternal(t *testing.T) {
	testutil.RequireRoot(t) // the demo image holds a device node and files of other users
	records := map[string]unpack.Record{}
	for _, dec := range []string{"builtin", "igzip", "pigz"} {
		if dec != "builtin" {
			testutil.RequireCommand(t, dec)
		}
		bundle := filepath.Join(t.TempDir(), "bundle")
		code, stdout, stderr := runCLI(t, "--gunzip", dec, "--json", "unpack", "--image", demoLayout, bundle)
		if code != 0 {
			t.Fatalf("--gunzip %s: exit %d: %s", dec, code, stderr)
		}
		var rec unpack.Record
		if err := json.Unmarshal([]byte(stdout), &rec); err != nil {
			t.Fatalf("--gunzip %s: %v", dec, err)
		}
		records[dec] = rec
	}
	for dec, rec := range records {
		for i, l := range rec.Layers {
			want := records["builtin"].Layers[i]
			if l.DiffID != want.DiffID || l.Digest != want.Digest || l.Entries != want.Entries {
				t.Errorf("--gunzip %s: layer %d differs from the built-in decoder's: %+v vs %+v", dec, i, l, want)
			}
		}
	}
}

func TestGunzipFlagErrors(t *testing.T) {
	code, _, stderr := runCLI(t, "--gunzip", "gzip", "list", "--image", demoLayout)
	if code != 2 {
		t.Fatalf("--gunzip gzip: exit %d, want 2 (usage)", code)
	}
	oneErrorLine(t, stderr, "--gunzip gzip")
	t.Setenv("PATH", "/nonexistent")
	code, _, stderr = runCLI(t, "--gunzip", "auto", "list", "--image", demoLayout)
	if code != 0 {
		t.Fatalf("--gunzip auto without igzip or pigz: exit %d (%s), want the built-in fallback", code, stderr)
	}
}
