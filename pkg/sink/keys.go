package sink

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strconv"
	"strings"
)

// NormalizePrefix returns p with a trailing '/' unless p is empty, so that
// OSS_PREFIX=backup and OSS_PREFIX=backup/ mean the same folder.
func NormalizePrefix(p string) string {
	if p == "" || strings.HasSuffix(p, "/") {
		return p
	}
	return p + "/"
}

// MetaKey returns the key of the meta object of a topic-partition:
// {prefix}{topic}/.oss_meta_file_partition_{p}.
func MetaKey(prefix, topic string, partition int32) string {
	return prefix + topic + "/.oss_meta_file_partition_" + strconv.FormatInt(int64(partition), 10)
}

// ObjectKey returns the key of the data object of a topic-partition whose
// smallest offset is first, in the given folder and epoch:
// {prefix}{dir}partition_{p}_offset_{first}_{8 chars}, dir being
// FolderDir(topic, folder), without the extension of its encoding
// (format.Encoder.Ext), which follows it in the object's key.
//
// A folder is named relative to the topic's own directory ("" is
// {prefix}{topic}/ itself, "dt=2026-11-24/" a folder inside it), or, for a
// directory elsewhere under the prefix (a routing template that does not
// start with the topic, invalidRuleData/), by that directory with a leading
// '/' ("/tenant-a/orders/"). FolderName maps a directory to its folder name.
//
// The 8 characters are derived from topic, partition, folder, first offset
// and epoch (the first 8 hex digits of a SHA-256), not drawn at random: a
// retry that opens the same object computes the same name, so a failed
// attempt can never leave a second copy of its records under another name.
// Epoch 0 is the partition's first life; a new epoch (see StartEpoch), for a
// topic recreated with offsets starting again, gives every offset a new name
// so that nothing of the old epoch is appended to or overwritten.
func ObjectKey(prefix, topic, folder string, partition int32, first, epoch int64) string {
	p := strconv.FormatInt(int64(partition), 10)
	o := strconv.FormatInt(first, 10)
	return prefix + FolderDir(topic, folder) + "partition_" + p + "_offset_" + o + "_" + nameSuffix(topic, p, folder, o, epoch)
}

// FolderDir returns the directory, relative to the prefix and ending in
// '/', of a folder name (see ObjectKey).
func FolderDir(topic, folder string) string {
	if dir, ok := strings.CutPrefix(folder, "/"); ok {
		return dir
	}
	return topic + "/" + folder
}

// FolderName returns the folder name (see ObjectKey) of dir, a directory
// relative to the prefix ending in '/'.
func FolderName(topic, dir string) string {
	if rest, ok := strings.CutPrefix(dir, topic+"/"); ok {
		return rest
	}
	return "/" + dir
}

func nameSuffix(topic, p, folder, o string, epoch int64) string {
	h := sha256.New()
	// NUL separators keep ("ab","c") and ("a","bc") apart. Epoch 0 hashes
	// as names did before epochs existed.
	h.Write([]byte(topic + "\x00" + p + "\x00" + folder + "\x00" + o))
	if epoch > 0 {
		h.Write([]byte("\x00epoch" + strconv.FormatInt(epoch, 10)))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:4])
}

// ObjectEpoch returns the epoch, among 0..maxEpoch, whose derived name key
// is (see ObjectKey), or false if key is not the name of any of them: a
// look-alike that the sink did not write. folder is the folder name of the
// key's directory (see FolderName).
func ObjectEpoch(prefix, topic, folder string, partition int32, first int64, key string, maxEpoch int64) (int64, bool) {
	key, _ = SplitExt(key)
	for e := int64(0); e <= maxEpoch; e++ {
		if ObjectKey(prefix, topic, folder, partition, first, e) == key {
			return e, true
		}
	}
	return 0, false
}

// objectPrefix is the key prefix that every data object of a partition in
// the given folder starts with.
func objectPrefix(prefix, topic, folder string, partition int32) string {
	return prefix + FolderDir(topic, folder) + "partition_" + strconv.FormatInt(int64(partition), 10) + "_offset_"
}

// The extensions a data object's name can end with (format.Encoder.Ext):
// a format's, then a compression's; raw objects have none but the
// compression's, and objects of legacy encodings none at all.
var (
	formatExts = []string{".jsonl", ".csv"}
	codecExts  = []string{".gz", ".zst", ".sz"}
)

const parquetExt = ".parquet"

// SplitExt splits a data object's base name (or key) into its stem, the
// name ObjectKey derives, and its extension, which says the object's
// format and compression ("" for raw uncompressed and legacy objects).
func SplitExt(name string) (stem, ext string) {
	if s, ok := strings.CutSuffix(name, parquetExt); ok {
		return s, parquetExt
	}
	stem = name
	for _, c := range codecExts {
		if s, ok := strings.CutSuffix(stem, c); ok {
			stem, ext = s, c
			break
		}
	}
	for _, f := range formatExts {
		if s, ok := strings.CutSuffix(stem, f); ok {
			return s, f + ext
		}
	}
	return stem, ext
}

// StageKey returns the key of the staging object of a data object written
// when sealed (format.Encoder.Staged: Parquet, and raw, jsonl and csv with
// SINK_FINALIZE): the records are appended there,
// {dir}.oss_stage_{base}.staged, and the data object is built (Parquet) or
// copied from them. (The suffix keeps engines' globs for the data, "**/*.parquet", off
// it.)
func StageKey(dataKey string) string {
	dir, base := path.Split(dataKey)
	return dir + stagePrefix + base + stageSuffix
}

// StageData returns the data object key of a staging object's key, and
// whether key is one.
func StageData(key string) (string, bool) {
	dir, base := path.Split(key)
	rest, ok := strings.CutPrefix(base, stagePrefix)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, stageSuffix)
	if !ok || rest == "" {
		return "", false
	}
	return dir + rest, true
}

const (
	stagePrefix = ".oss_stage_"
	stageSuffix = ".staged"
)

// ParseObjectName splits the base name of a data object key
// ("partition_3_offset_120_ab12cd34", with any extension SplitExt knows)
// into partition and first offset.
func ParseObjectName(base string) (partition int32, first int64, ok bool) {
	base, _ = SplitExt(base)
	rest, found := strings.CutPrefix(base, "partition_")
	if !found {
		return 0, 0, false
	}
	ps, rest, found := strings.Cut(rest, "_offset_")
	if !found {
		return 0, 0, false
	}
	os, suffix, found := strings.Cut(rest, "_")
	if !found || len(suffix) != 8 {
		return 0, 0, false
	}
	p, err := strconv.ParseInt(ps, 10, 32)
	if err != nil || p < 0 {
		return 0, 0, false
	}
	o, err := strconv.ParseInt(os, 10, 64)
	if err != nil || o < 0 {
		return 0, 0, false
	}
	return int32(p), o, true
}
