package unpack_test

import (
	"context"
	"fmt"

	"github.com/safeunpack/safeunpack/unpack"
)

// List shows what a layout holds; a multi-platform image is an index whose
// manifests each name a platform.
func ExampleList() {
	listing, err := unpack.List(context.Background(), "../testdata/images/multiarch")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, im := range listing.Images {
		fmt.Printf("%s: %d manifests\n", im.Tag, len(im.Manifests))
		for _, m := range im.Manifests {
			fmt.Printf("  %s, %d layer\n", m.Platform, m.Layers)
		}
	}
	// Output:
	// latest: 4 manifests
	//   linux/amd64, 1 layer
	//   linux/arm64, 1 layer
	//   linux/arm/v7, 1 layer
	//   unknown/unknown, 1 layer
	// 1.0: 4 manifests
	//   linux/amd64, 1 layer
	//   linux/arm64, 1 layer
	//   linux/arm/v7, 1 layer
	//   unknown/unknown, 1 layer
	// amd64-only: 0 manifests
}

// ParseReference reads umoci's LAYOUT[:TAG|@DIGEST] syntax.
func ExampleParseReference() {
	for _, s := range []string{
		"../testdata/images/demo",
		"../testdata/images/demo:latest",
		"../testdata/images/multiarch@sha256:5504284e48b60432f3b0c2b3aa956b37b76f9b28105ec6225fb4009ad4e19e78",
	} {
		ref, err := unpack.ParseReference(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("layout=%s tag=%q digest=%.19s\n", ref.Layout, ref.Tag, ref.Digest)
	}
	// Output:
	// layout=../testdata/images/demo tag="" digest=
	// layout=../testdata/images/demo tag="latest" digest=
	// layout=../testdata/images/multiarch tag="" digest=sha256:5504284e48b6
}

// Unpack writes a bundle that runc or crun can start.
func ExampleUnpack() {
	ref, err := unpack.ParseReference("../testdata/images/demo:latest")
	if err != nil {
		fmt.Println(err)
		return
	}
	// Options' zero value: the host platform, default limits.
	rec, err := unpack.Unpack(context.Background(), ref, "/tmp/bundle", unpack.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.ManifestDigest, len(rec.Layers))
}
