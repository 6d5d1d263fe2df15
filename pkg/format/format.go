package format

import (
	"fmt"
	"strconv"
)

// Format names an output format (SINK_FORMAT).
type Format uint8

const (
	Raw Format = iota
	JSONL
	CSV
	Parquet
)

// String returns the configuration name of f: "raw", "jsonl", "csv" or "parquet".
func (f Format) String() string {
	switch f {
	case Raw:
		return "raw"
	case JSONL:
		return "jsonl"
	case CSV:
		return "csv"
	case Parquet:
		return "parquet"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Parse returns the Format named s ("" means raw).
func Parse(s string) (Format, error) {
	switch s {
	case "", "raw":
		return Raw, nil
	case "jsonl":
		return JSONL, nil
	case "csv":
		return CSV, nil
	case "parquet":
		return Parquet, nil
	}
	return 0, fmt.Errorf("unknown format %q (want raw, jsonl, csv or parquet)", s)
}
