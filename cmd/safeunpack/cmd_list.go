package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/safeunpack/safeunpack/unpack"
)

func listCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Aliases:   []string{"ls"},
		Usage:     "list the images of an OCI layout: tags, digests, platforms, sizes",
		ArgsUsage: "[LAYOUT]",
		Description: "Lists index.json's entries and the manifests of nested indexes. Only JSON\n" +
			"documents are read (verified and size-capped), never layers. With\n" +
			"LAYOUT:TAG only that tag is listed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "image", Aliases: []string{"i"}, Usage: "layout to list: `LAYOUT[:TAG]`"},
			jsonFlag,
		},
		Action: func(c *cli.Context) error {
			arg := c.String("image")
			switch {
			case arg == "" && c.NArg() == 1:
				arg = c.Args().First()
			case arg == "" || c.NArg() != 0:
				return usageError{errors.New("list: give the layout as --image LAYOUT (or as the only argument)")}
			}
			ref, err := unpack.ParseReference(arg)
			if err != nil {
				return err
			}
			listing, err := unpack.List(c.Context, ref.Layout)
			if err != nil {
				return err
			}
			if ref.Tag != "" || ref.Digest != "" {
				listing.Images = filterImages(listing.Images, ref)
				if len(listing.Images) == 0 {
					return fmt.Errorf("%w: %s is not in %s", unpack.ErrNotFound, strings.TrimPrefix(ref.String(), ref.Layout), ref.Layout)
				}
			}
			if wantJSON(st, c) {
				return st.printJSON(listing)
			}
			printListing(st, listing)
			return nil
		},
	}
}

func filterImages(images []unpack.ImageInfo, ref unpack.Reference) []unpack.ImageInfo {
	var out []unpack.ImageInfo
	for _, im := range images {
		if ref.Tag != "" && im.Tag == ref.Tag || ref.Digest != "" && im.Digest == ref.Digest {
			out = append(out, im)
		}
	}
	return out
}

// printListing prints a table; manifests of an index are indented below it.
func printListing(st *state, l *unpack.Listing) {
	st.progressDone()
	tw := tabwriter.NewWriter(st.stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "TAG\tDIGEST\tTYPE\tPLATFORM\tLAYERS\tSIZE")
	var row func(prefix string, im unpack.ImageInfo)
	row = func(prefix string, im unpack.ImageInfo) {
		tag := im.Tag
		if tag == "" {
			tag = "-"
		}
		platform, layers, size := im.Platform, "", ""
		if platform == "" {
			platform = "-"
		}
		kind := shortType(im.MediaType)
		if kind == "manifest" && im.Error == "" {
			layers, size = fmt.Sprint(im.Layers), humanBytes(im.LayersSize)
		}
		if im.Error != "" {
			kind += " (error: " + im.Error + ")"
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\n", prefix, tag, im.Digest, kind, platform, layers, size)
		for _, m := range im.Manifests {
			row(prefix+"  ", m)
		}
	}
	for _, im := range l.Images {
		row("", im)
	}
	_ = tw.Flush()
}

func shortType(mt string) string {
	switch {
	case strings.Contains(mt, "index"), strings.Contains(mt, "manifest.list"):
		return "index"
	case strings.Contains(mt, "manifest"):
		return "manifest"
	}
	return mt
}
