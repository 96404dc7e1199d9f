//go:build !linux

package main

import (
	"errors"
	"io"
)

func runBridge([]string, io.Writer, io.Writer) error {
	return errors.New("bridge: needs Linux (AF_PACKET sockets in network namespaces)")
}
