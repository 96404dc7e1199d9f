package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/softphone/softphone/call/protocol"
)

// version is the release name, set at build time with
// -ldflags "-X main.version=v1.2.3"; without it the module's build
// information names the build.
var version = ""

// versionString is what --version and `softphone version` print.
func versionString() string {
	v, commit, dirty := version, "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	out := "softphone " + v + " ("
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		out += "commit " + commit
		if dirty {
			out += "+changes"
		}
		out += ", "
	}
	return out + fmt.Sprintf("%s %s/%s, protocol v%d)", runtime.Version(), runtime.GOOS, runtime.GOARCH, protocol.Version)
}

func newVersionCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, Go version and protocol version",
		Args:    noArgs,
		GroupID: groupOther,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(c.stdout, versionString())
			return err
		},
	}
}
