// Command hello is the program of the demo image (testdata/images/demo). It
// prints what shows that the bundle was unpacked and configured correctly:
// the process's ids, working directory and an environment variable from
// the image config, then each argument: a file's contents, a directory's
// entries, or "absent" for a path that a whiteout removed.
//
// It is built static (CGO_ENABLED=0) by the image generator; it imports only
// os, sort and strings so that it stays small.
package main

import (
	"os"
	"sort"
	"strconv"
	"strings"
)

func main() {
	var b strings.Builder
	b.WriteString("hello from the safeunpack demo image\n")
	groups, _ := os.Getgroups()
	sort.Ints(groups)
	var gs []string
	for _, g := range groups {
		gs = append(gs, strconv.Itoa(g))
	}
	b.WriteString("uid=" + strconv.Itoa(os.Getuid()) + " gid=" + strconv.Itoa(os.Getgid()) +
		" groups=" + strings.Join(gs, ",") + "\n")
	wd, err := os.Getwd()
	if err != nil {
		wd = "error: " + err.Error()
	}
	b.WriteString("cwd=" + wd + "\n")
	b.WriteString("DEMO_GREETING=" + os.Getenv("DEMO_GREETING") + "\n")
	status := 0
	for _, p := range os.Args[1:] {
		b.WriteString(p + ": ")
		st, err := os.Stat(p)
		switch {
		case os.IsNotExist(err):
			b.WriteString("absent\n")
		case err != nil:
			b.WriteString("error: " + err.Error() + "\n")
			status = 1
		case st.IsDir():
			entries, err := os.ReadDir(p)
			if err != nil {
				b.WriteString("error: " + err.Error() + "\n")
				status = 1
				continue
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			b.WriteString("[" + strings.Join(names, " ") + "]\n")
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				b.WriteString("error: " + err.Error() + "\n")
				status = 1
				continue
			}
			b.WriteString(strings.TrimRight(string(data), "\n") + "\n")
		}
	}
	_, _ = os.Stdout.WriteString(b.String())
	os.Exit(status)
}
