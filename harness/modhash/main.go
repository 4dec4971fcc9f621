// Command modhash prints the go.sum hash ("h1:...") a module version has when its files are the
// directory given: the module zip the Go module proxy would serve, made from that directory with
// golang.org/x/mod/zip (the same file selection and layout), hashed with golang.org/x/mod/sumdb/dirhash.
// ../build-kube-router.sh uses it to check that a source tree it builds from is, byte for byte, the
// module version go.sum pins.
//
//	go run . <module path> <version> <dir>   the module's hash (go.sum's "<path> <version> h1:...")
//	go run . -gomod <go.mod file>           its go.mod's hash (go.sum's "<path> <version>/go.mod h1:...")
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/zip"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-gomod" {
		// What cmd/go hashes for a /go.mod line: the one file named go.mod (modfetch.HashGoMod).
		h, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) { return os.Open(os.Args[2]) })
		if err != nil {
			fail(err)
		}
		fmt.Println(h)
		return
	}
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: modhash <module path> <version> <dir> | modhash -gomod <go.mod file>")
		os.Exit(2)
	}
	tmp, err := os.MkdirTemp("", "modhash")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)
	z := filepath.Join(tmp, "m.zip")
	f, err := os.Create(z)
	if err != nil {
		fail(err)
	}
	if err := zip.CreateFromDir(f, module.Version{Path: os.Args[1], Version: os.Args[2]}, os.Args[3]); err != nil {
		fail(err)
	}
	if err := f.Close(); err != nil {
		fail(err)
	}
	h, err := dirhash.HashZip(z, dirhash.Hash1)
	if err != nil {
		fail(err)
	}
	fmt.Println(h)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "modhash:", err)
	os.Exit(1)
}
