// Go's os/exec with ExtraFiles (Go's TestExtraFiles): the child gets the file as
// descriptor 3 — Go's child code dup3s it there, or clears its close-on-exec, between
// fork and exec: passed on purpose. With "leak", a pipe made with syscall.Pipe
// (pipe2(fds, 0): no close-on-exec) crosses too: a leak.
//
//	extrafiles PROGRAM ARG [leak]     runs PROGRAM ARG with the file as fd 3
package main

import (
	"os"
	"os/exec"
	"syscall"
)

func main() {
	f, err := os.Open("/etc/hostname")
	if err != nil {
		os.Exit(1)
	}
	if len(os.Args) > 3 && os.Args[3] == "leak" {
		var p [2]int
		if syscall.Pipe(p[:]) != nil {
			os.Exit(1)
		}
	}
	cmd := exec.Command(os.Args[1], os.Args[2])
	cmd.ExtraFiles = []*os.File{f}
	if cmd.Run() != nil {
		os.Exit(1)
	}
}
