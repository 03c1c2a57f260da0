// Command tasktool is the one static binary of the suite's images: the
// node's pause image, the task image, and the helper a get, check or put
// pod uses to hand the resource its request on stdin.
//
//	tasktool pause                     block until SIGTERM (the pod sandbox)
//	tasktool show DIR...               print each directory's entries and its small files
//	tasktool dial ADDR...              try a TCP connection to each address
//	tasktool install DIR [FILE TODIR]  copy this binary into DIR, and FILE into TODIR (an init container)
//	tasktool resource REQ BIN [DIR [SHOW...]]
//	                                   run BIN DIR with REQ on stdin, its stdout as the
//	                                   pod's termination message; then show DIR and SHOW...
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: tasktool pause|show|dial|install|resource ...")
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "pause":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGINT, syscall.SIGTERM)
		<-c
	case "show":
		for _, dir := range args {
			show(dir)
		}
	case "dial":
		for _, addr := range args {
			dial(addr)
		}
	case "install":
		install(args)
	case "resource":
		os.Exit(resource(args))
	default:
		fail("tasktool: unknown command " + os.Args[1])
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(2)
}

// show prints "DIR: name name ..." and then "DIR/name: content" for each
// regular file of at most 4 KiB, so a spec reads a get's files in the log.
func show(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Printf("%s: %v\n", dir, err)
		return
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		// ..data and ..<timestamp> are a ConfigMap volume's atomic-update machinery, not files.
		if !strings.HasPrefix(e.Name(), "..") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	fmt.Printf("%s: %s\n", dir, strings.Join(names, " "))
	for _, n := range names {
		p := filepath.Join(dir, n)
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > 4096 {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Printf("%s: %v\n", p, err)
			continue
		}
		fmt.Printf("%s: %s\n", p, bytes.TrimSpace(b))
	}
}

func dial(addr string) {
	conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		fmt.Printf("dial %s: %v\n", addr, err)
		return
	}
	conn.Close()
	fmt.Printf("dial %s: connected\n", addr)
}

func install(args []string) {
	if len(args) != 1 && len(args) != 3 {
		fail("usage: tasktool install DIR [FILE TODIR]")
	}
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		fail(err.Error())
	}
	if err := os.WriteFile(filepath.Join(args[0], "tasktool"), self, 0o755); err != nil {
		fail(err.Error())
	}
	if len(args) == 3 {
		data, err := os.ReadFile(args[1])
		if err != nil {
			fail(err.Error())
		}
		if err := os.MkdirAll(args[2], 0o755); err != nil {
			fail(err.Error())
		}
		if err := os.WriteFile(filepath.Join(args[2], filepath.Base(args[1])), data, 0o644); err != nil {
			fail(err.Error())
		}
	}
}

// resource runs a resource's script as a runtime without the hook does: the
// request on stdin, the response on stdout (kept as the termination
// message, which the runtime reads through the API), the log on stderr.
func resource(args []string) int {
	if len(args) < 2 {
		fail("usage: tasktool resource REQUEST BIN [DIR [SHOW...]]")
	}
	req, err := os.Open(args[0])
	if err != nil {
		fail(err.Error())
	}
	defer req.Close()
	var stdout bytes.Buffer
	cmd := exec.Command(args[1], args[2:min(len(args), 3)]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = req, &stdout, os.Stderr
	runErr := cmd.Run()
	if err := os.WriteFile("/dev/termination-log", stdout.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "write termination message:", err)
	}
	_, _ = io.Copy(os.Stdout, bytes.NewReader(stdout.Bytes()))
	fmt.Println()
	for _, dir := range args[min(len(args), 2):] {
		show(dir)
	}
	if runErr != nil {
		fmt.Fprintln(os.Stderr, args[1]+":", runErr)
		return 1
	}
	return 0
}
