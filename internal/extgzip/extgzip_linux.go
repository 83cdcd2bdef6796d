package extgzip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Candidates are the programs Find tries for "auto", fastest first, with
// the arguments that decompress stdin to stdout.
var candidates = []struct {
	name string
	args []string
}{
	{"igzip", []string{"-d", "-c"}},
	{"pigz", []string{"-d", "-c"}},
}

// pipeSize is the size asked for the output pipe (F_SETPIPE_SZ): 1 MiB
// means one read per chunk the layer package consumes instead of sixteen
// with the default 64 KiB.
const pipeSize = 1 << 20

// maxStderr bounds what is kept of the program's error output for messages.
const maxStderr = 4 << 10

// unprivilegedID is the uid and gid the program runs as when we are root.
const unprivilegedID = 65534

// ErrNotFound means no usable decompressor was found.
var ErrNotFound = errors.New("extgzip: no external gzip decompressor found")

// Decompressor is an external program that decompresses gzip on stdin to
// stdout.
type Decompressor struct {
	path string
	args []string
}

// Find returns the decompressor name: "auto" (or "") for the first of
// igzip and pigz on PATH, one of those names, or an absolute path to one of
// them. The path is resolved now, once; relative PATH entries are refused
// (exec.LookPath's ErrDot).
func Find(name string) (*Decompressor, error) {
	if name == "" || name == "auto" {
		for _, c := range candidates {
			if d, err := find(c.name, c.args); err == nil {
				return d, nil
			}
		}
		return nil, ErrNotFound
	}
	base := filepath.Base(name)
	for _, c := range candidates {
		if base == c.name {
			return find(name, c.args)
		}
	}
	return nil, fmt.Errorf("extgzip: %q is not a supported decompressor (igzip, pigz)", name)
}

func find(name string, args []string) (*Decompressor, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if !filepath.IsAbs(p) {
		return nil, fmt.Errorf("%w: %s resolves to a relative path %q", ErrNotFound, name, p)
	}
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNotFound, p)
	}
	return &Decompressor{path: p, args: args}, nil
}

// Path returns the program's absolute path.
func (d *Decompressor) Path() string { return d.path }

// Within reports whether the program lies under dir, which a caller
// building a rootfs in dir must refuse: a program from the image must never
// run.
func (d *Decompressor) Within(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return true
	}
	rel, err := filepath.Rel(abs, d.path)
	return err != nil || (rel != ".." && !strings.HasPrefix(rel, "../"))
}

// Start runs the program on compressed and returns its output. Read
// returns io.EOF only after the program exited successfully; a failure
// (corrupt or truncated input) is a Read error carrying its exit status and
// error output. Close stops it early. Start matches the signature of
// layer.Options.Gunzip.
func (d *Decompressor) Start(compressed io.Reader) (io.ReadCloser, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	// Best effort: a smaller pipe only costs more reads.
	_, _ = unix.FcntlInt(pw.Fd(), unix.F_SETPIPE_SZ, pipeSize)
	cmd := &exec.Cmd{
		Path:   d.path,
		Args:   append([]string{d.path}, d.args...),
		Env:    []string{},
		Dir:    "/",
		Stdin:  compressed,
		Stdout: pw,
	}
	stderr := &limitedBuffer{max: maxStderr}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: unprivilegedID, Gid: unprivilegedID, Groups: []uint32{}}
	}
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		return nil, fmt.Errorf("extgzip: starting %s: %w", d.path, err)
	}
	_ = pw.Close() // the child holds the write end now
	return &reader{cmd: cmd, out: pr, stderr: stderr, path: d.path}, nil
}

// reader is the program's output.
type reader struct {
	cmd    *exec.Cmd
	out    *os.File
	stderr *limitedBuffer
	path   string
	once   sync.Once
	err    error // sticky result after the program ended
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.out.Read(p)
	if errors.Is(err, io.EOF) {
		r.err = r.wait()
		if r.err == nil {
			r.err = io.EOF
		}
		return n, r.err
	}
	if err != nil {
		r.err = err
	}
	return n, err
}

// wait reaps the program once and turns a failure into an error.
func (r *reader) wait() error {
	var err error
	r.once.Do(func() {
		werr := r.cmd.Wait()
		_ = r.out.Close()
		if werr != nil {
			msg := strings.TrimSpace(r.stderr.String())
			if msg != "" {
				err = fmt.Errorf("%s: %w: %s", filepath.Base(r.path), werr, msg)
			} else {
				err = fmt.Errorf("%s: %w", filepath.Base(r.path), werr)
			}
		}
	})
	return err
}

// Close stops the program if it is still running and reaps it.
func (r *reader) Close() error {
	if r.err == nil {
		_ = r.cmd.Process.Kill()
		// Unblock a stdin copier stuck writing to a program that no
		// longer reads, then reap (the kill error is expected).
		_ = r.out.Close()
		_ = r.wait()
		r.err = io.ErrClosedPipe
	}
	return nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
