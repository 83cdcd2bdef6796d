package unpack

// The committed test images (testdata/README.md says how each is made).
//go:generate go run ../internal/imagegen/genimages -out ../testdata/images -hello ../testdata/src/hello
