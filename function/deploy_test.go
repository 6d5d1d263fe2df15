package main

// Tests that keep the deployment files honest: the Makefile and pkg/fcpack
// build the same binary and package it as FC's go1 runtime needs; s.yaml
// (Serverless Devs) and template.yaml (ROS) set only variables the sink
// reads, with values it accepts, configure the Kafka trigger as the service
// requires and the same way; and the RAM role allows exactly the OSS actions
// the code calls, on the bucket and prefix only.

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcpack"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

const deployModule = "github.com/kafka-oss-sink/kafka-oss-sink"

// ---------------------------------------------------------------------------
// The RAM actions the sink needs.
//
// deployStoreActions maps every method of store.Store to the OSS operations
// that pkg/store/ossstore issues for it and to the RAM actions that allow
// those operations (Alibaba Cloud OSS documentation: AppendObject needs
// oss:PutObject; HeadObject and ranged GetObject need oss:GetObject;
// ListObjectsV2 needs oss:ListObjects, granted on the bucket rather than on
// objects). The role in template.yaml must allow exactly the union of the
// actions of the methods the engine (package sink) calls: nothing missing,
// nothing more.
//
// The table is checked from both ends: TestDeployStoreActionsMatchOSSStore
// reads pkg/store/ossstore to confirm the SDK calls behind each method, and
// TestDeployEngineStoreMethods type-checks package sink to find the methods
// it calls (and runs it to see them called).
var deployStoreActions = map[string]struct {
	api     string   // what ossstore sends
	actions []string // what RAM must allow
}{
	"Get":      {"GetObject", []string{"oss:GetObject"}},
	"GetRange": {"GetObject with Range; HeadObject for an empty range", []string{"oss:GetObject"}},
	"Stat":     {"HeadObject", []string{"oss:GetObject"}},
	"Put":      {"PutObject", []string{"oss:PutObject"}},
	"Append":   {"AppendObject; HeadObject when a rejected append lacks the length", []string{"oss:GetObject", "oss:PutObject"}},
	"List":     {"ListObjectsV2", []string{"oss:ListObjects"}},
	"Delete":   {"DeleteObject", []string{"oss:DeleteObject"}},
}

// deploySDKActions maps the oss.Bucket methods ossstore calls to RAM actions.
var deploySDKActions = map[string]string{
	"GetObject":             "oss:GetObject",
	"DoGetObject":           "oss:GetObject",
	"GetObjectDetailedMeta": "oss:GetObject", // HeadObject
	"PutObject":             "oss:PutObject",
	"AppendObject":          "oss:PutObject",
	"ListObjectsV2":         "oss:ListObjects",
	"DeleteObject":          "oss:DeleteObject",
}

// deployBucketActions are granted on the bucket (acs:oss:*:{account}:{bucket}),
// limited by an oss:Prefix condition; every other OSS action on objects
// (acs:oss:*:{account}:{bucket}/{prefix}*).
var deployBucketActions = map[string]bool{"oss:ListObjects": true}

// deployOtherActions are the non-OSS actions the role may hold: the
// function's logs, on its logstore only.
var deployOtherActions = map[string]string{"log:PostLogStoreLogs": "acs:log:{region}:{account}:project/{project}/logstore/{logstore}"}

// ---------------------------------------------------------------------------
// Variables of s.yaml and parameters of template.yaml.
//
// deployVars pairs the s.yaml variables with the template.yaml parameters
// that mean the same thing, with a sample value for those that have no
// default (the site-specific ones). "ALIYUN::Region" is ROS's pseudo
// parameter. sVar or rosParam "" marks a value only one file has.
var deployVars = []struct{ sVar, rosParam, sample string }{
	{"region", "ALIYUN::Region", "cn-hangzhou"},
	{"functionName", "FunctionName", ""},
	{"roleArn", "", "acs:ram::1234567890123456:role/kafka-oss-sink-role"},
	{"", "CodeBucket", "sample-code"},
	{"", "CodeObject", "releases/kafka-oss-sink.zip"},
	{"bucket", "Bucket", "sample-bucket"},
	{"prefix", "Prefix", ""},
	{"kafkaInstanceId", "KafkaInstanceId", "alikafka_post-cn-sample"},
	{"topic", "Topic", "orders"},
	{"consumerGroup", "ConsumerGroup", "kafka-oss-sink"},
	{"offsetReset", "OffsetReset", ""},
	{"network", "KafkaNetwork", ""},
	{"vpcId", "VpcId", "vpc-sample"},
	{"vSwitchIds", "VSwitchIds", "vsw-sample"},
	{"securityGroupId", "SecurityGroupId", "sg-sample"},
	{"logProject", "LogProject", "sample-logs"},
	{"logStore", "LogStore", "kafka-oss-sink"},
	{"format", "Format", ""},
	{"valueEncoding", "ValueEncoding", ""},
	{"flushBytes", "FlushBytes", ""},
	{"flushRecords", "FlushRecords", ""},
	{"flushInterval", "FlushInterval", ""},
	{"logLevel", "LogLevel", ""},
	{"batchCount", "BatchCount", ""},
	{"batchTime", "BatchTime", ""},
	{"maximumTasks", "MaximumTasks", ""},
	{"concurrency", "Concurrency", ""},
	{"errorsTolerance", "ErrorsTolerance", ""},
	{"retryStrategy", "PushRetryStrategy", ""},
	{"maxRetryAttempts", "MaximumRetryAttempts", ""},
	{"maxEventAge", "MaximumEventAgeInSeconds", ""},
	{"", "DeadLetterQueueArn", ""},
}

const deployAccount = "1234567890123456" // ALIYUN::AccountId

// ---------------------------------------------------------------------------
// Packaging.

// TestDeployPackage builds ./function as `make package` does and checks the
// archive the way FC's go1 runtime will use it.
func TestDeployPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the deployable binary")
	}
	dir := t.TempDir()
	bin, zipPath := filepath.Join(dir, "main"), filepath.Join(dir, "function.zip")
	if err := fcpack.Build(t.Context(), "..", bin, "./function"); err != nil {
		t.Fatal(err)
	}
	if _, err := fcpack.Package(bin, zipPath); err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}

	zr, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "main" {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("archive holds %q, want exactly [main] at its root", names)
	}
	f := zr.File[0]
	if f.CreatorVersion>>8 != 3 || f.ExternalAttrs>>16 != 0o100755 || f.Mode() != 0o755 {
		t.Errorf("entry main: creator %d, unix attributes %o, mode %v; want unix, 100755 (regular, rwxr-xr-x)",
			f.CreatorVersion>>8, f.ExternalAttrs>>16, f.Mode())
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}

	ef, err := elf.NewFile(bytes.NewReader(binary))
	if err != nil {
		t.Fatalf("main is not an ELF file: %v", err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 || ef.OSABI != elf.ELFOSABI_NONE {
		t.Errorf("ELF %v %v %v, want a 64-bit linux/amd64 executable", ef.Class, ef.Machine, ef.OSABI)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	for _, name := range []string{".interp", ".dynamic", ".symtab", ".debug_info", ".zdebug_info"} {
		if ef.Section(name) != nil {
			t.Errorf("section %s present: want static (no .interp, .dynamic) and stripped (no .symtab, DWARF)", name)
		}
	}
	ef.Close()
	bi, err := buildinfo.Read(bytes.NewReader(binary))
	if err != nil {
		t.Fatal(err)
	}
	if bi.Path != deployModule+"/function" {
		t.Errorf("main package %s, want %s/function", bi.Path, deployModule)
	}

	// -trimpath: no path of this machine in the binary. Look for the
	// directories a path could start with, then at a sample of the source
	// file names it holds (for tracebacks): module-relative, never absolute.
	root, _ := filepath.Abs("..")
	forbidden := []string{root, "/root/"}
	for _, v := range []string{"GOPATH", "GOROOT", "GOMODCACHE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range filepath.SplitList(strings.TrimSpace(string(out))) {
			if p != "" {
				forbidden = append(forbidden, p)
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil && len(home) > 1 {
		forbidden = append(forbidden, home+"/")
	}
	for _, p := range forbidden {
		if bytes.Contains(binary, []byte(p)) {
			t.Errorf("the binary contains the build machine path %q: built without -trimpath?", p)
		}
	}
	files := regexp.MustCompile(`[[:graph:]]{3,}\.go\b`).FindAll(binary, -1)
	sample := 0
	for _, fname := range files {
		if !bytes.Contains(fname, []byte("pkg/sink/")) {
			continue
		}
		if !bytes.HasPrefix(fname, []byte(deployModule+"/pkg/sink/")) {
			t.Errorf("source file %s: want it named by import path (-trimpath), not by a directory", fname)
		}
		sample++
	}
	if sample == 0 {
		t.Errorf("no source file of %s/pkg/sink named in the binary: the sample proves nothing", deployModule)
	}

	// Deterministic: packaging the same binary again gives the same bytes.
	again := filepath.Join(dir, "again.zip")
	if _, err := fcpack.Package(bin, again); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(again); !bytes.Equal(b, archive) {
		t.Error("packaging the same binary twice gave different archives")
	}
}

// The Makefile spells out the build command; fcpack has it as code. Keep
// them equal, and s.yaml pointed at what `make package` writes.
func TestDeployMakefileMatchesFcpack(t *testing.T) {
	text, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	recipes := map[string][]string{}
	target := ""
	for _, line := range strings.Split(string(text), "\n") {
		switch {
		case strings.HasPrefix(line, "\t") && target != "":
			recipes[target] = append(recipes[target], strings.TrimSpace(line))
		case regexp.MustCompile(`^[A-Z]+\s*[:?]?=`).MatchString(line):
			k, v, _ := strings.Cut(line, "=")
			vars[strings.TrimRight(k, " :?")] = strings.TrimSpace(v)
			target = ""
		case regexp.MustCompile(`^[a-z]+:`).MatchString(line):
			target, _, _ = strings.Cut(line, ":")
		default:
			target = ""
		}
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\(([A-Z]+)\)`).ReplaceAllStringFunc(s, func(m string) string {
			v, ok := vars[m[2:len(m)-1]]
			if !ok {
				t.Errorf("Makefile: $(%s) undefined", m[2:len(m)-1])
			}
			return v
		})
	}
	bin, zipPath := vars["BIN"], vars["ZIP"]
	if bin == "" || zipPath == "" || filepath.Base(bin) != fcpack.EntryName {
		t.Fatalf("Makefile: BIN=%q ZIP=%q; want BIN named %q and ZIP set", bin, zipPath, fcpack.EntryName)
	}

	var build []string
	for _, l := range recipes["build"] {
		if strings.Contains(l, " build ") {
			build = deployShellWords(t, expand(l))
		}
	}
	want := slices.Concat(fcpack.BuildEnv(), []string{"go"}, fcpack.BuildArgs(bin, "./function"))
	if !reflect.DeepEqual(build, want) {
		t.Errorf("Makefile build recipe runs\n\t%q\nfcpack builds with\n\t%q", build, want)
	}
	var pack []string
	for _, l := range recipes["package"] {
		pack = deployShellWords(t, expand(l))
	}
	if want := []string{"go", "run", "./pkg/fcpack/cmd/fcpack", "-bin", bin, "-out", zipPath}; !reflect.DeepEqual(pack, want) {
		t.Errorf("Makefile package recipe runs %q, want %q", pack, want)
	}

	props := deploySProps(t, deployLoadS(t))
	if code := props["code"]; code != "./"+zipPath {
		t.Errorf("s.yaml code is %v, want ./%s (what `make package` writes)", code, zipPath)
	}
	var pre []string
	for _, r := range deploySResource(t, deployLoadS(t))["actions"].(map[string]any)["pre-deploy"].([]any) {
		pre = append(pre, r.(map[string]any)["run"].(string))
	}
	if !slices.Contains(pre, "make package") {
		t.Errorf("s.yaml pre-deploy runs %q, want make package", pre)
	}
}

// deployShellWords splits a recipe line as sh would for the simple words and
// double quotes the Makefile uses.
func deployShellWords(t *testing.T, s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\'' || r == '\\' || r == '$' || r == '`':
			t.Fatalf("recipe %q: shell syntax this test does not parse", s)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("recipe %q: unbalanced quote", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// ---------------------------------------------------------------------------
// Loading and resolving the two files.

func deployLoadYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc
}

func deployLoadS(t *testing.T) map[string]any { return deployLoadYAML(t, "../s.yaml") }

func deployLoadROS(t *testing.T) map[string]any { return deployLoadYAML(t, "../template.yaml") }

// deploySResource is s.yaml's one resource, the fc3 component.
func deploySResource(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	if doc["edition"] != "3.0.0" {
		t.Errorf("s.yaml edition %v, want 3.0.0", doc["edition"])
	}
	res, _ := doc["resources"].(map[string]any)
	if len(res) != 1 {
		t.Fatalf("s.yaml has %d resources, want 1", len(res))
	}
	for _, r := range res {
		r := r.(map[string]any)
		if c, _ := r["component"].(string); c != "fc3" && !strings.HasPrefix(c, "fc3@") {
			t.Fatalf("s.yaml component %q, want fc3", c)
		}
		return r
	}
	return nil
}

func deploySProps(t *testing.T, doc map[string]any) map[string]any {
	return deploySResource(t, doc)["props"].(map[string]any)
}

var (
	deploySVarRef = regexp.MustCompile(`\$\{([^}]*)\}`)
	deploySEnv    = regexp.MustCompile(`^\$\{env\('([A-Z0-9_]+)'(?:,\s*'([^']*)')?\)\}$`)
)

// deploySVars reads s.yaml's vars: for each, its default (an env() default or
// a literal) and whether it has one.
func deploySVars(t *testing.T, doc map[string]any) (values map[string]any, required map[string]bool) {
	t.Helper()
	values, required = map[string]any{}, map[string]bool{}
	vars, _ := doc["vars"].(map[string]any)
	for name, v := range vars {
		s, ok := v.(string)
		if !ok || !strings.Contains(s, "${") {
			values[name] = v
			continue
		}
		m := deploySEnv.FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("s.yaml vars.%s = %q: want a literal or ${env('NAME'[, 'default'])}", name, s)
		}
		if strings.Contains(s, ",") {
			values[name] = m[2]
		} else {
			required[name] = true
		}
	}
	return values, required
}

// deployResolveS resolves s.yaml's props as Serverless Devs would with the
// sample environment: ${vars.x} everywhere, overrides first.
func deployResolveS(t *testing.T, doc map[string]any, overrides map[string]any) map[string]any {
	t.Helper()
	values, required := deploySVars(t, doc)
	for _, v := range deployVars {
		if required[v.sVar] {
			if v.sample == "" {
				t.Fatalf("s.yaml vars.%s has no default and the test no sample", v.sVar)
			}
			values[v.sVar] = v.sample
		}
	}
	maps.Copy(values, overrides)
	var resolve func(any) any
	resolve = func(n any) any {
		switch n := n.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, v := range n {
				out[k] = resolve(v)
			}
			return out
		case []any:
			out := make([]any, len(n))
			for i, v := range n {
				out[i] = resolve(v)
			}
			return out
		case string:
			lookup := func(ref string) any {
				name, ok := strings.CutPrefix(ref, "vars.")
				v, found := values[name]
				if !ok || !found {
					t.Fatalf("s.yaml: ${%s} is not a defined var", ref)
				}
				return v
			}
			if m := deploySVarRef.FindStringSubmatch(n); m != nil && m[0] == n {
				return lookup(m[1]) // keeps the var's type
			}
			return deploySVarRef.ReplaceAllStringFunc(n, func(m string) string { return fmt.Sprint(lookup(m[2 : len(m)-1])) })
		}
		return n
	}
	return resolve(deploySProps(t, doc)).(map[string]any)
}

// deployNoValue is what ALIYUN::NoValue resolves to: the property is dropped.
type deployNoValueT struct{}

var deployNoValue = deployNoValueT{}

// deployROS is template.yaml resolved with parameter values.
type deployROS struct {
	t         *testing.T
	doc       map[string]any
	params    map[string]any
	resources map[string]any
}

func deployResolveROS(t *testing.T, doc map[string]any, overrides map[string]any) *deployROS {
	t.Helper()
	if doc["ROSTemplateFormatVersion"] != "2015-09-01" {
		t.Errorf("template.yaml ROSTemplateFormatVersion %v, want 2015-09-01", doc["ROSTemplateFormatVersion"])
	}
	r := &deployROS{t: t, doc: doc, params: map[string]any{}, resources: doc["Resources"].(map[string]any)}
	samples := map[string]string{}
	for _, v := range deployVars {
		samples[v.rosParam] = v.sample
	}
	for name, p := range doc["Parameters"].(map[string]any) {
		p := p.(map[string]any)
		if d, ok := p["Default"]; ok {
			r.params[name] = d
		} else if s := samples[name]; s != "" {
			r.params[name] = s
		} else {
			t.Fatalf("template.yaml parameter %s has no default and the test no sample", name)
		}
	}
	r.params["ALIYUN::Region"] = samples["ALIYUN::Region"]
	r.params["ALIYUN::AccountId"] = deployAccount
	maps.Copy(r.params, overrides)
	return r
}

// resource returns the one resource of type typ, resolved, and its name.
func (r *deployROS) resource(typ string) (string, map[string]any) {
	r.t.Helper()
	var names []string
	for name, res := range r.resources {
		if res.(map[string]any)["Type"] == typ {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		r.t.Fatalf("template.yaml has %d resources of type %s, want 1", len(names), typ)
	}
	props := r.resources[names[0]].(map[string]any)["Properties"]
	return names[0], r.resolve(props).(map[string]any)
}

func (r *deployROS) ref(name string) any {
	if name == "ALIYUN::NoValue" {
		return deployNoValue
	}
	if v, ok := r.params[name]; ok {
		return v
	}
	if _, ok := r.resources[name]; ok {
		return "<" + name + ">"
	}
	r.t.Fatalf("template.yaml: Ref %q: no such parameter or resource", name)
	return nil
}

func (r *deployROS) getAtt(res, attr string) string {
	if _, ok := r.resources[res]; !ok {
		r.t.Fatalf("template.yaml: Fn::GetAtt on unknown resource %s", res)
	}
	return "<" + res + "." + attr + ">"
}

func (r *deployROS) resolve(n any) any {
	t := r.t
	switch n := n.(type) {
	case map[string]any:
		if len(n) == 1 {
			for k, arg := range n {
				switch {
				case k == "Ref":
					return r.ref(arg.(string))
				case k == "Fn::GetAtt":
					a := arg.([]any)
					return r.getAtt(a[0].(string), a[1].(string))
				case k == "Fn::Sub":
					s, ok := arg.(string)
					if !ok {
						t.Fatalf("template.yaml: Fn::Sub with a variable map is not supported by this test")
					}
					return deploySVarRef.ReplaceAllStringFunc(s, func(m string) string {
						name := m[2 : len(m)-1]
						if res, attr, ok := strings.Cut(name, "."); ok {
							return r.getAtt(res, attr)
						}
						return fmt.Sprint(r.ref(name))
					})
				case k == "Fn::If":
					a := arg.([]any)
					if r.condition(a[0].(string)) {
						return r.resolve(a[1])
					}
					return r.resolve(a[2])
				case strings.HasPrefix(k, "Fn::"):
					t.Fatalf("template.yaml: %s is not supported by this test", k)
				}
			}
		}
		out := map[string]any{}
		for k, v := range n {
			if v := r.resolve(v); v != deployNoValue {
				out[k] = v
			}
		}
		return out
	case []any:
		var out []any
		for _, v := range n {
			if v := r.resolve(v); v != deployNoValue {
				out = append(out, v)
			}
		}
		return out
	}
	return n
}

func (r *deployROS) condition(name string) bool {
	conds, _ := r.doc["Conditions"].(map[string]any)
	c, ok := conds[name]
	if !ok {
		r.t.Fatalf("template.yaml: no condition %s", name)
	}
	var eval func(any) bool
	eval = func(c any) bool {
		m := c.(map[string]any)
		if a, ok := m["Fn::Equals"]; ok {
			a := a.([]any)
			return fmt.Sprint(r.resolve(a[0])) == fmt.Sprint(r.resolve(a[1]))
		}
		if a, ok := m["Fn::Not"]; ok {
			return !eval(a)
		}
		r.t.Fatalf("template.yaml condition %s: unsupported %v", name, c)
		return false
	}
	return eval(c)
}

// deployNormalize turns every scalar into its string form, so that 10 and
// "10" compare equal (the services take both).
func deployNormalize(n any) any {
	switch n := n.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range n {
			out[k] = deployNormalize(v)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = deployNormalize(v)
		}
		return out
	case nil:
		return ""
	}
	return fmt.Sprint(n)
}

// deployLowerKeys renames ROS's PascalCase property names to the camelCase
// of s.yaml and the FC API.
func deployLowerKeys(n any) any {
	switch n := n.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range n {
			out[strings.ToLower(k[:1])+k[1:]] = deployLowerKeys(v)
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = deployLowerKeys(v)
		}
		return out
	}
	return n
}

func deployJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// ---------------------------------------------------------------------------
// The function.

func TestDeployVariablesAgree(t *testing.T) {
	sVals, sReq := deploySVars(t, deployLoadS(t))
	ros := deployLoadROS(t)["Parameters"].(map[string]any)
	seenS, seenR := map[string]bool{}, map[string]bool{}
	for _, v := range deployVars {
		seenS[v.sVar], seenR[v.rosParam] = true, true
		_, inS := sVals[v.sVar]
		inS = inS || sReq[v.sVar]
		p, inR := ros[v.rosParam].(map[string]any)
		if v.sVar != "" && !inS {
			t.Errorf("s.yaml has no var %s", v.sVar)
		}
		if v.rosParam != "" && !strings.HasPrefix(v.rosParam, "ALIYUN::") && !inR {
			t.Errorf("template.yaml has no parameter %s", v.rosParam)
		}
		if v.sVar == "" || !inR {
			continue
		}
		def, hasDef := p["Default"]
		switch {
		case sReq[v.sVar] != !hasDef:
			t.Errorf("s.yaml vars.%s required=%v, template.yaml %s required=%v", v.sVar, sReq[v.sVar], v.rosParam, !hasDef)
		case hasDef && fmt.Sprint(def) != fmt.Sprint(sVals[v.sVar]):
			t.Errorf("default of s.yaml vars.%s is %q, of template.yaml %s %q", v.sVar, fmt.Sprint(sVals[v.sVar]), v.rosParam, fmt.Sprint(def))
		}
	}
	for name := range sVals {
		if !seenS[name] {
			t.Errorf("s.yaml vars.%s is not in deployVars: pair it with a template.yaml parameter", name)
		}
	}
	for name := range sReq {
		if !seenS[name] {
			t.Errorf("s.yaml vars.%s is not in deployVars: pair it with a template.yaml parameter", name)
		}
	}
	for name := range ros {
		if !seenR[name] {
			t.Errorf("template.yaml parameter %s is not in deployVars: pair it with an s.yaml var", name)
		}
	}
}

func TestDeployFunction(t *testing.T) {
	s := deployResolveS(t, deployLoadS(t), nil)
	ros := deployResolveROS(t, deployLoadROS(t), nil)
	roleName, _ := ros.resource("ALIYUN::RAM::Role")
	_, fn := ros.resource("ALIYUN::FC3::Function")

	for file, props := range map[string]map[string]any{"s.yaml": s, "template.yaml": deployLowerKeys(fn).(map[string]any)} {
		if props["runtime"] != "go1" {
			t.Errorf("%s: runtime %v, want go1", file, props["runtime"])
		}
		if props["handler"] != fcpack.EntryName {
			t.Errorf("%s: handler %v, want %q: the name of the executable in the archive", file, props["handler"], fcpack.EntryName)
		}
		timeout, _ := props["timeout"].(int)
		if timeout < 60 || timeout > 86400 {
			t.Errorf("%s: timeout %v s: want a minute or more (32 MB batches, OSS retries) and at most a day", file, props["timeout"])
		}
		if c, _ := props["instanceConcurrency"].(int); c < 1 || c > 200 {
			t.Errorf("%s: instanceConcurrency %v", file, props["instanceConcurrency"])
		}
		lc, _ := props["instanceLifecycleConfig"].(map[string]any)
		for _, hook := range []string{"initializer", "preStop"} {
			h, _ := lc[hook].(map[string]any)
			ht, _ := h["timeout"].(int)
			if h["handler"] == nil || h["handler"] == "" || ht < 1 || ht > timeout {
				t.Errorf("%s: instanceLifecycleConfig.%s = %v: want a handler and a timeout within the function's (the binary registers the hook)", file, hook, h)
			}
		}
		if lc, _ := props["logConfig"].(map[string]any); lc["project"] == "" || lc["logstore"] == "" {
			t.Errorf("%s: logConfig %v: want a project and a logstore", file, lc)
		}
	}
	if fn["Role"] != ros.getAtt(roleName, "Arn") {
		t.Errorf("template.yaml: the function's Role is %v, want the ARN of %s", fn["Role"], roleName)
	}
	if code, _ := fn["Code"].(map[string]any); code["OssBucketName"] == nil || code["OssObjectName"] == nil {
		t.Errorf("template.yaml: Code %v, want OssBucketName and OssObjectName", code)
	}

	// Everything else the same in both files.
	skip := map[string]bool{"region": true, "role": true, "code": true, "triggers": true}
	rosLower := map[string]any{}
	for k, v := range fn {
		if k == "EnvironmentVariables" {
			rosLower["environmentVariables"] = v
		} else {
			rosLower[strings.ToLower(k[:1])+k[1:]] = deployLowerKeys(v)
		}
	}
	for k := range s {
		if skip[k] {
			continue
		}
		if a, b := deployNormalize(s[k]), deployNormalize(rosLower[k]); !reflect.DeepEqual(a, b) {
			t.Errorf("function property %s differs:\ns.yaml        %s\ntemplate.yaml %s", k, deployJSON(a), deployJSON(b))
		}
	}
	for k := range rosLower {
		if _, ok := s[k]; !ok && !skip[k] {
			t.Errorf("template.yaml sets function property %s, s.yaml does not", k)
		}
	}
}

func TestDeployEnvironment(t *testing.T) {
	known := config.Known()
	for _, prefix := range []string{"", "kafka/"} {
		s := deployResolveS(t, deployLoadS(t), map[string]any{"prefix": prefix})
		_, fn := deployResolveROS(t, deployLoadROS(t), map[string]any{"Prefix": prefix}).resource("ALIYUN::FC3::Function")
		for file, env := range map[string]any{"s.yaml": s["environmentVariables"], "template.yaml": fn["EnvironmentVariables"]} {
			vars := map[string]string{}
			for k, v := range env.(map[string]any) {
				vars[k] = fmt.Sprint(v)
				if !slices.Contains(known, k) {
					t.Errorf("%s sets %s, which the sink does not read (config.Known)", file, k)
				}
				if strings.HasPrefix(k, "FC_") {
					t.Errorf("%s sets %s: FC_ variables are reserved by Function Compute", file, k)
				}
			}
			for _, k := range []string{config.EnvBucket, config.EnvEndpoint} {
				if vars[k] == "" {
					t.Errorf("%s does not set %s", file, k)
				}
			}
			cfg, err := config.FromEnv(func(k string) string { return vars[k] })
			if err != nil {
				t.Errorf("%s: the configuration it deploys is rejected: %v", file, err)
				continue
			}
			if !cfg.UseOSS() || cfg.Endpoint != "oss-cn-hangzhou-internal.aliyuncs.com" || cfg.Prefix != prefix {
				t.Errorf("%s: bucket %q endpoint %q prefix %q; want OSS through the region's internal endpoint, prefix %q", file, cfg.Bucket, cfg.Endpoint, cfg.Prefix, prefix)
			}
		}
		if a, b := deployNormalize(s["environmentVariables"]), deployNormalize(fn["EnvironmentVariables"]); !reflect.DeepEqual(a, b) {
			t.Errorf("environment differs:\ns.yaml        %s\ntemplate.yaml %s", deployJSON(a), deployJSON(b))
		}
	}
}

// Every choice template.yaml offers for the sink's settings must pass the
// sink's checks, and its prefix pattern must admit exactly the prefixes the
// role's policy is written for: "" or ending in '/', as the sink normalizes.
func TestDeployParameterChoices(t *testing.T) {
	params := deployLoadROS(t)["Parameters"].(map[string]any)
	envOfParam := map[string]string{"Format": config.EnvFormat, "ValueEncoding": config.EnvValueEncoding, "LogLevel": config.EnvLogLevel}
	for param, env := range envOfParam {
		allowed, _ := params[param].(map[string]any)["AllowedValues"].([]any)
		if len(allowed) == 0 {
			t.Errorf("template.yaml %s: no AllowedValues", param)
		}
		for _, v := range allowed {
			if _, err := config.FromEnv(func(k string) string {
				if k == env {
					return fmt.Sprint(v)
				}
				return ""
			}); err != nil {
				t.Errorf("template.yaml %s allows %v: %v", param, v, err)
			}
		}
	}
	pattern := regexp.MustCompile(params["Prefix"].(map[string]any)["AllowedPattern"].(string))
	for prefix, ok := range map[string]bool{"": true, "kafka/": true, "a/b/": true, "kafka": false, "/kafka/": false, "/": false} {
		if pattern.MatchString(prefix) != ok {
			t.Errorf("template.yaml Prefix pattern on %q: %v, want %v", prefix, !ok, ok)
		}
		if ok && sink.NormalizePrefix(prefix) != prefix {
			t.Errorf("prefix %q is allowed but the sink writes under %q", prefix, sink.NormalizePrefix(prefix))
		}
	}
	bucket := regexp.MustCompile(params["Bucket"].(map[string]any)["AllowedPattern"].(string))
	for _, b := range []string{"sample-bucket", "abc", "a-b", "Bucket", "-ab", "ab-", "ab", "a_b"} {
		_, err := config.FromEnv(func(k string) string {
			return map[string]string{config.EnvBucket: b, config.EnvRegion: "cn-hangzhou"}[k]
		})
		if bucket.MatchString(b) != (err == nil) {
			t.Errorf("bucket %q: template.yaml pattern says %v, the sink's check %v", b, bucket.MatchString(b), err)
		}
	}
}

// ---------------------------------------------------------------------------
// The trigger.

func TestDeployTrigger(t *testing.T) {
	s := deployResolveS(t, deployLoadS(t), nil)
	ros := deployResolveROS(t, deployLoadROS(t), nil)
	fnName, _ := ros.resource("ALIYUN::FC3::Function")
	_, rt := ros.resource("ALIYUN::FC3::Trigger")

	triggers, _ := s["triggers"].([]any)
	if len(triggers) != 1 {
		t.Fatalf("s.yaml has %d triggers, want 1", len(triggers))
	}
	st := triggers[0].(map[string]any)
	if fn := rt["FunctionName"]; fn != ros.getAtt(fnName, "FunctionName") {
		t.Errorf("template.yaml: the trigger's FunctionName is %v, want the function's", fn)
	}
	rosTrigger := map[string]any{"triggerName": rt["TriggerName"], "triggerType": rt["TriggerType"], "qualifier": rt["Qualifier"], "triggerConfig": rt["TriggerConfig"]}
	if a, b := deployNormalize(st), deployNormalize(rosTrigger); !reflect.DeepEqual(a, b) {
		t.Errorf("trigger differs:\ns.yaml        %s\ntemplate.yaml %s", deployJSON(a), deployJSON(b))
	}

	for file, tr := range map[string]map[string]any{"s.yaml": st, "template.yaml": rosTrigger} {
		deployCheckTrigger(t, file, deployNormalize(tr).(map[string]any))
	}

	// The optional dead-letter queue: absent by default, set when given.
	rosDLQ := deployResolveROS(t, deployLoadROS(t), map[string]any{"DeadLetterQueueArn": "acs:mns:cn-hangzhou:1:/queues/dlq"})
	_, rt = rosDLQ.resource("ALIYUN::FC3::Trigger")
	run := rt["TriggerConfig"].(map[string]any)["runOptions"].(map[string]any)
	if dlq, _ := run["deadLetterQueue"].(map[string]any); dlq["Arn"] != "acs:mns:cn-hangzhou:1:/queues/dlq" {
		t.Errorf("template.yaml with DeadLetterQueueArn: deadLetterQueue %v", run["deadLetterQueue"])
	}
}

// deployCheckTrigger checks what the FC API and EventBridge require of a
// Kafka trigger, and what the sink needs of it. tr is normalized (strings).
func deployCheckTrigger(t *testing.T, file string, tr map[string]any) {
	get := func(path string) string {
		var n any = tr
		for _, k := range strings.Split(path, ".") {
			m, _ := n.(map[string]any)
			n = m[k]
		}
		s, _ := n.(string)
		if s == "" {
			t.Errorf("%s: trigger %s is missing", file, path)
		}
		return s
	}
	oneOf := func(path string, allowed ...string) {
		if v := get(path); v != "" && !slices.Contains(allowed, v) {
			t.Errorf("%s: trigger %s = %q, want one of %q", file, path, v, allowed)
		}
	}
	between := func(path string, lo, hi int) {
		var n int
		if v := get(path); v != "" {
			if _, err := fmt.Sscan(v, &n); err != nil || n < lo || n > hi {
				t.Errorf("%s: trigger %s = %q, want %d..%d", file, path, v, lo, hi)
			}
		}
	}
	oneOf("triggerType", "eventbridge")
	oneOf("triggerConfig.triggerEnable", "true")
	// Synchronous invocation: bodies up to 32 MB (asynchronous: 128 KB).
	oneOf("triggerConfig.asyncInvocationType", "false")
	oneOf("triggerConfig.eventRuleFilterPattern", "{}")
	oneOf("triggerConfig.eventSourceConfig.eventSourceType", "Kafka")
	kafka := "triggerConfig.eventSourceConfig.eventSourceParameters.sourceKafkaParameters."
	for _, f := range []string{"RegionId", "InstanceId", "Topic", "ConsumerGroup"} {
		get(kafka + f)
	}
	oneOf(kafka+"OffsetReset", "latest", "earliest")
	if get(kafka+"Network") == "PublicNetwork" {
		for _, f := range []string{"VpcId", "VSwitchIds", "SecurityGroupId"} {
			get(kafka + f)
		}
	}
	oneOf("triggerConfig.eventSinkConfig.deliveryOption.mode", "event-streaming")
	// The shapes pkg/events decodes; RawData carries no CloudEvents envelope.
	oneOf("triggerConfig.eventSinkConfig.deliveryOption.eventSchema", "CloudEvents", "RawData")
	between("triggerConfig.eventSinkConfig.deliveryOption.concurrency", 1, 1000)
	run := "triggerConfig.runOptions."
	oneOf(run+"mode", "event-streaming")
	between(run+"maximumTasks", 1, 1000)
	oneOf(run+"errorsTolerance", "ALL", "NONE")
	oneOf(run+"retryStrategy.PushRetryStrategy", "BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY")
	between(run+"retryStrategy.MaximumRetryAttempts", 0, 1000)
	between(run+"retryStrategy.MaximumEventAgeInSeconds", 0, 86400)
	between(run+"batchWindow.CountBasedWindow", 1, 10000)
	between(run+"batchWindow.TimeBasedWindow", 0, 15)
}

// ---------------------------------------------------------------------------
// The RAM policy.

func TestDeployStoreActionsMatchOSSStore(t *testing.T) {
	// Every method of the contract is in the table.
	var methods []string
	it := reflect.TypeFor[store.Store]()
	for i := range it.NumMethod() {
		methods = append(methods, it.Method(i).Name)
	}
	if got := slices.Sorted(maps.Keys(deployStoreActions)); !slices.Equal(got, methods) {
		t.Fatalf("deployStoreActions covers %q, store.Store has %q", got, methods)
	}

	// And says what ossstore really does: the SDK calls of each method,
	// through the other methods it calls, map to its RAM actions.
	calls := deployOSSStoreSDKCalls(t)
	for _, m := range methods {
		got := map[string]bool{}
		for _, sdk := range calls[m] {
			a, ok := deploySDKActions[sdk]
			if !ok {
				t.Errorf("ossstore.Store.%s calls oss.Bucket.%s: add it to deploySDKActions with its RAM action", m, sdk)
			}
			got[a] = true
		}
		entry := deployStoreActions[m]
		if want := slices.Sorted(slices.Values(entry.actions)); !slices.Equal(slices.Sorted(maps.Keys(got)), want) {
			t.Errorf("ossstore.Store.%s calls oss.Bucket %q, which need %q; deployStoreActions says %s needs %q",
				m, calls[m], slices.Sorted(maps.Keys(got)), entry.api, want)
		}
	}
}

// deployOSSStoreSDKCalls reads pkg/store/ossstore: for each method of
// *Store, the oss.Bucket methods it calls (recv.bucket.X), directly or
// through the other methods of *Store it calls (recv.Y).
func deployOSSStoreSDKCalls(t *testing.T) map[string][]string {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, "../pkg/store/ossstore", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	direct, internal := map[string][]string{}, map[string][]string{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv == nil || len(fd.Recv.List[0].Names) == 0 {
					continue
				}
				star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
				if !ok || fmt.Sprint(star.X) != "Store" {
					continue
				}
				recv := fd.Recv.List[0].Names[0].Name
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					sel, ok := n.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					switch x := sel.X.(type) {
					case *ast.SelectorExpr: // recv.bucket.Method
						if id, ok := x.X.(*ast.Ident); ok && id.Name == recv && x.Sel.Name == "bucket" {
							direct[fd.Name.Name] = append(direct[fd.Name.Name], sel.Sel.Name)
						}
					case *ast.Ident: // recv.method
						if x.Name == recv {
							internal[fd.Name.Name] = append(internal[fd.Name.Name], sel.Sel.Name)
						}
					}
					return true
				})
			}
		}
	}
	out := map[string][]string{}
	for m := range deployStoreActions {
		seen, calls := map[string]bool{}, map[string]bool{}
		var walk func(string)
		walk = func(fn string) {
			if seen[fn] {
				return
			}
			seen[fn] = true
			for _, c := range direct[fn] {
				calls[c] = true
			}
			for _, c := range internal[fn] {
				walk(c)
			}
		}
		walk(m)
		out[m] = slices.Sorted(maps.Keys(calls))
	}
	return out
}

// deployEngineMethods type-checks package sink and returns the methods of
// store.Store it calls on stores: any call of a Store method on a value whose
// type implements store.Store, except the forwarding call inside a wrapper's
// method of the same name (guardedStore.Delete calling st.Delete is not a
// use of Delete; a call of guardedStore.Delete would be).
func deployEngineMethods(t *testing.T) map[string]bool {
	out, err := exec.Command("go", "list", "-deps", "-export", "-json=ImportPath,Export,Dir,GoFiles", "../pkg/sink").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkgInfo struct{ ImportPath, Export, Dir string }
	var sinkPkg struct {
		pkgInfo
		GoFiles []string
	}
	exports := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			pkgInfo
			GoFiles []string
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
		if p.ImportPath == deployModule+"/pkg/sink" {
			sinkPkg = p
		}
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range sinkPkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(sinkPkg.Dir, name), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	info := &types.Info{Selections: map[*ast.SelectorExpr]*types.Selection{}, Defs: map[*ast.Ident]types.Object{}}
	pkg, err := (&types.Config{Importer: imp}).Check(sinkPkg.ImportPath, fset, files, info)
	if err != nil {
		t.Fatalf("type-check package sink: %v", err)
	}
	var iface *types.Interface
	for _, p := range pkg.Imports() {
		if p.Path() == deployModule+"/pkg/store" {
			iface = p.Scope().Lookup("Store").Type().Underlying().(*types.Interface)
		}
	}
	if iface == nil {
		t.Fatal("package sink does not import package store")
	}
	isStore := func(typ types.Type) bool {
		return types.Implements(typ, iface) || types.Implements(types.NewPointer(typ), iface)
	}
	used := map[string]bool{}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			forwarder := ""
			if fd.Recv != nil {
				if fn, ok := info.Defs[fd.Name].(*types.Func); ok && isStore(fn.Type().(*types.Signature).Recv().Type()) {
					forwarder = fd.Name.Name
				}
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				se, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				sel := info.Selections[se]
				if sel == nil || sel.Kind() != types.MethodVal || !isStore(sel.Recv()) {
					return true
				}
				name := sel.Obj().Name()
				if _, ok := deployStoreActions[name]; ok && name != forwarder {
					used[name] = true
				}
				return true
			})
		}
	}
	return used
}

// deployRecorder is a store that records what the engine asks of it and
// can lose the reply of the next Append (the append takes effect, the caller
// sees an error), to drive the engine down its recovery path.
type deployRecorder struct {
	store.Store
	mu       sync.Mutex
	methods  map[string]bool
	keys     []string // keys of object operations
	prefixes []string // List prefixes
	loseNext bool
}

func (r *deployRecorder) note(method, key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.methods[method] = true
	if method == "List" {
		r.prefixes = append(r.prefixes, key)
	} else {
		r.keys = append(r.keys, key)
	}
}

func (r *deployRecorder) Get(ctx context.Context, key string) ([]byte, error) {
	r.note("Get", key)
	return r.Store.Get(ctx, key)
}

func (r *deployRecorder) GetRange(ctx context.Context, key string, off, n int64) ([]byte, error) {
	r.note("GetRange", key)
	return r.Store.GetRange(ctx, key, off, n)
}

func (r *deployRecorder) Stat(ctx context.Context, key string) (store.Info, error) {
	r.note("Stat", key)
	return r.Store.Stat(ctx, key)
}

func (r *deployRecorder) Put(ctx context.Context, key string, data []byte) error {
	r.note("Put", key)
	return r.Store.Put(ctx, key, data)
}

func (r *deployRecorder) Append(ctx context.Context, key string, pos int64, data []byte) (int64, error) {
	r.note("Append", key)
	n, err := r.Store.Append(ctx, key, pos, data)
	r.mu.Lock()
	lose := r.loseNext
	r.loseNext = false
	r.mu.Unlock()
	if lose && err == nil {
		return 0, errors.New("connection reset by peer (the append took effect)")
	}
	return n, err
}

func (r *deployRecorder) List(ctx context.Context, prefix string) ([]store.Info, error) {
	r.note("List", prefix)
	return r.Store.List(ctx, prefix)
}

func (r *deployRecorder) Delete(ctx context.Context, key string) error {
	r.note("Delete", key)
	return r.Store.Delete(ctx, key)
}

// deployRunEngine writes a few batches through the engine under prefix:
// new partitions, appends, sealed objects, a lost append reply and its
// redelivery.
func deployRunEngine(t *testing.T, prefix string) *deployRecorder {
	rec := &deployRecorder{Store: memstore.New(), methods: map[string]bool{}}
	sk, err := sink.New(sink.WithPrefix(prefix), sink.WithFlushRecords(3))
	if err != nil {
		t.Fatal(err)
	}
	batch := func(first, last int64) []events.Record {
		var recs []events.Record
		for p := int32(0); p < 2; p++ {
			for o := first; o <= last; o++ {
				recs = append(recs, events.Record{Topic: "orders", Partition: p, Offset: o, Timestamp: 1655952591589, Value: fmt.Appendf(nil, "value %d/%d", p, o)})
			}
		}
		return recs
	}
	ctx := t.Context()
	if _, err := sk.Write(ctx, rec, batch(0, 4)); err != nil {
		t.Fatal(err)
	}
	rec.loseNext = true
	if _, err := sk.Write(ctx, rec, batch(5, 9)); err == nil {
		t.Fatal("the lost append reply did not fail the batch")
	}
	sum, err := sk.Write(ctx, rec, batch(5, 9))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Recovered == 0 {
		t.Errorf("the redelivered batch recovered nothing: the recovery path was not taken (%+v)", sum)
	}
	return rec
}

func TestDeployEngineStoreMethods(t *testing.T) {
	used := deployEngineMethods(t)
	var tableUsed []string
	for m := range deployStoreActions {
		if used[m] {
			tableUsed = append(tableUsed, m)
		}
	}
	if len(used) == 0 || len(tableUsed) != len(used) {
		t.Fatalf("package sink calls %v", slices.Sorted(maps.Keys(used)))
	}
	t.Logf("package sink calls store methods %v", slices.Sorted(maps.Keys(used)))

	rec := deployRunEngine(t, "kafka/")
	for m := range rec.methods {
		if !used[m] {
			t.Errorf("the engine called Store.%s, which the analysis of package sink did not find", m)
		}
	}
	for m := range used {
		if !rec.methods[m] {
			t.Logf("Store.%s not exercised by the sample run", m)
		}
	}
}

// deployNeededActions is the set of RAM actions the sink's code needs.
func deployNeededActions(t *testing.T) []string {
	need := map[string]bool{}
	for m := range deployEngineMethods(t) {
		for _, a := range deployStoreActions[m].actions {
			need[a] = true
		}
	}
	return slices.Sorted(maps.Keys(need))
}

func TestDeployRAMPolicy(t *testing.T) {
	need := deployNeededActions(t)
	for _, prefix := range []string{"kafka/", ""} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			ros := deployResolveROS(t, deployLoadROS(t), map[string]any{"Bucket": "sample-bucket", "Prefix": prefix})
			_, role := ros.resource("ALIYUN::RAM::Role")
			trust := deployNormalize(role["AssumeRolePolicyDocument"]).(map[string]any)
			stmts, _ := trust["Statement"].([]any)
			if len(stmts) != 1 || !reflect.DeepEqual(stmts[0], map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": []any{"fc.aliyuncs.com"}}}) {
				t.Errorf("role trust policy %s: want Function Compute (fc.aliyuncs.com) alone", deployJSON(trust))
			}

			objectRes := "acs:oss:*:" + deployAccount + ":sample-bucket/" + prefix + "*"
			bucketRes := "acs:oss:*:" + deployAccount + ":sample-bucket"
			logRes := strings.NewReplacer("{region}", "cn-hangzhou", "{account}", deployAccount,
				"{project}", "sample-logs", "{logstore}", "kafka-oss-sink").Replace(deployOtherActions["log:PostLogStoreLogs"])
			granted := map[string]bool{}
			policies, _ := role["Policies"].([]any)
			if len(policies) == 0 {
				t.Fatal("the role has no policy")
			}
			for _, p := range policies {
				doc := deployNormalize(p.(map[string]any)["PolicyDocument"]).(map[string]any)
				for _, s := range doc["Statement"].([]any) {
					s := s.(map[string]any)
					actions, resources := deployStrings(s["Action"]), deployStrings(s["Resource"])
					if s["Effect"] != "Allow" || len(actions) == 0 || len(resources) == 0 {
						t.Errorf("statement %s: want Effect Allow, actions and resources", deployJSON(s))
						continue
					}
					for _, r := range resources {
						parts := strings.SplitN(r, ":", 5)
						if r == "*" || len(parts) != 5 || parts[0] != "acs" || parts[3] != deployAccount || parts[4] == "" || parts[4][0] == '*' {
							t.Errorf("resource %q: want acs:<service>:<region>:<account>:<resource>, the account and the resource named", r)
						}
					}
					for _, a := range actions {
						if strings.Contains(a, "*") {
							t.Errorf("action %q: wildcards grant more than the sink needs", a)
						}
						granted[a] = true
						var want []string
						var cond any
						switch {
						case deployBucketActions[a]:
							want = []string{bucketRes}
							cond = map[string]any{"StringLike": map[string]any{"oss:Prefix": []any{prefix + "*"}}}
						case strings.HasPrefix(a, "oss:"):
							want = []string{objectRes}
						case deployOtherActions[a] != "":
							want = []string{logRes}
						default:
							t.Errorf("action %q: not one the sink needs", a)
							continue
						}
						if !slices.Equal(resources, want) {
							t.Errorf("action %s on %q, want %q", a, resources, want)
						}
						if c := s["Condition"]; !reflect.DeepEqual(deployNormalize(c), deployNormalize(cond)) && (c != nil || cond != nil) {
							t.Errorf("action %s with condition %s, want %s", a, deployJSON(c), deployJSON(cond))
						}
					}
				}
			}
			var ossGranted []string
			for a := range granted {
				if strings.HasPrefix(a, "oss:") {
					ossGranted = append(ossGranted, a)
				}
			}
			if slices.Sort(ossGranted); !slices.Equal(ossGranted, need) {
				t.Errorf("the role allows OSS actions %q; the code needs exactly %q", ossGranted, need)
			}

			// The keys the engine really touches are inside what the
			// policy grants.
			rec := deployRunEngine(t, prefix)
			objGlob := strings.TrimPrefix(objectRes, bucketRes+"/")
			for _, k := range rec.keys {
				if !deployGlob(objGlob, k) {
					t.Errorf("the engine touched %q, outside %s", k, objectRes)
				}
			}
			for _, p := range rec.prefixes {
				if !deployGlob(prefix+"*", p) {
					t.Errorf("the engine listed %q, outside the oss:Prefix condition %s*", p, prefix)
				}
			}
			if len(rec.keys) == 0 || len(rec.prefixes) == 0 {
				t.Errorf("the sample run touched %d keys and listed %d prefixes", len(rec.keys), len(rec.prefixes))
			}
		})
	}
}

func deployStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			out = append(out, fmt.Sprint(s))
		}
		sort.Strings(out)
		return out
	}
	return nil
}

// deployGlob matches s against a RAM pattern, where '*' is any sequence
// (slashes included).
func deployGlob(pattern, s string) bool {
	head, rest, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	if !strings.HasPrefix(s, head) {
		return false
	}
	s = s[len(head):]
	for i := 0; i <= len(s); i++ {
		if deployGlob(rest, s[i:]) {
			return true
		}
	}
	return false
}
