// csvstat prints per-column statistics for a CSV file (standard library only).
package main

import (
	_ "embed"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

var version = "0.3.1"

//go:embed testdata/sample.csv
var sample string

type column struct {
	name    string
	count   int
	numeric int
	sum     float64
	min     float64
	max     float64
	values  map[string]int
}

func analyse(r io.Reader) ([]*column, int, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, 0, fmt.Errorf("reading header: %w", err)
	}
	cols := make([]*column, len(header))
	for i, h := range header {
		cols[i] = &column{name: h, min: math.Inf(1), max: math.Inf(-1), values: map[string]int{}}
	}
	rows := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, rows, err
		}
		rows++
		for i, v := range rec {
			c := cols[i]
			c.count++
			c.values[v]++
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				c.numeric++
				c.sum += f
				c.min = math.Min(c.min, f)
				c.max = math.Max(c.max, f)
			}
		}
	}
	return cols, rows, nil
}

func report(w io.Writer, cols []*column, rows int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "column\ttype\tdistinct\tmin\tmax\tmean\n")
	for _, c := range cols {
		if c.numeric == c.count && c.count > 0 {
			fmt.Fprintf(tw, "%s\tnumber\t%d\t%g\t%g\t%.2f\n", c.name, len(c.values), c.min, c.max, c.sum/float64(c.count))
		} else {
			top := make([]string, 0, len(c.values))
			for v := range c.values {
				top = append(top, v)
			}
			sort.Strings(top)
			fmt.Fprintf(tw, "%s\ttext\t%d\t%s\t%s\t-\n", c.name, len(c.values), top[0], top[len(top)-1])
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "rows: %d\n", rows)
}

func main() {
	showVersion := flag.Bool("version", false, "print the version and exit")
	selftest := flag.Bool("selftest", false, "analyse the bundled sample file")
	flag.Parse()
	switch {
	case *showVersion:
		fmt.Println("csvstat", version)
		return
	case *selftest:
		cols, rows, err := analyse(strings.NewReader(sample))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		report(os.Stdout, cols, rows)
		return
	}
	in := io.Reader(os.Stdin)
	if flag.NArg() > 0 {
		f, err := os.Open(flag.Arg(0))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	cols, rows, err := analyse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	report(os.Stdout, cols, rows)
}
