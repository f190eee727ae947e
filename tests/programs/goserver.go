// A Go program with what Go programs do to descriptors: a net/http server that serves a
// file with http.ServeFile (sendfile), a client request to it, os/exec of a child with a
// pipe, and a temporary file from os.CreateTemp. Run by tests/golden/test_runtimes.py.
//
// The client's connection is closed by a goroutine of net/http; main waits for that close
// before it starts the child, so that the descriptor numbers the child's pipes get do not
// race with it (a golden writes descriptor numbers as strace does).
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
)

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type notifyingConn struct {
	net.Conn
	closed chan struct{}
	once   sync.Once
}

func (c *notifyingConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

func main() {
	data, err := os.CreateTemp("", "goserver-")
	check(err)
	defer os.Remove(data.Name())
	_, err = data.Write(make([]byte, 200000))
	check(err)
	check(data.Close())

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	server := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeFile(w, r, data.Name())
	})}
	served := make(chan error, 1)
	go func() { served <- server.Serve(listener) }()

	closed := make(chan struct{})
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &notifyingConn{Conn: conn, closed: closed}, nil
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: dial}}
	response, err := client.Get("http://" + listener.Addr().String() + "/data")
	check(err)
	received, err := io.Copy(io.Discard, response.Body)
	check(err)
	check(response.Body.Close())
	<-closed
	check(server.Shutdown(context.Background()))
	<-served

	out, err := exec.Command("echo", "child").Output()
	check(err)
	fmt.Printf("received %d bytes; the child said %s", received, out)
}
