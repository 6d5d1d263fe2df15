package main

// The RAM policy allows exactly the OSS actions the code calls, on the
// bucket and prefix only.

import (
	"bytes"
	"context"
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
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/store/memstore"
)

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

func (r *deployRecorder) Put(ctx context.Context, key string, data []byte, opts ...store.WriteOption) error {
	r.note("Put", key)
	return r.Store.Put(ctx, key, data, opts...)
}

func (r *deployRecorder) PutReader(ctx context.Context, key string, src io.ReaderAt, size int64, opts ...store.WriteOption) error {
	r.note("PutReader", key)
	return r.Store.PutReader(ctx, key, src, size, opts...)
}

func (r *deployRecorder) Append(ctx context.Context, key string, pos int64, data []byte, opts ...store.WriteOption) (int64, error) {
	r.note("Append", key)
	n, err := r.Store.Append(ctx, key, pos, data, opts...)
	r.mu.Lock()
	// The next data append: its index entry went through before it.
	lose := r.loseNext && !strings.Contains(key, ".oss_index_")
	r.loseNext = r.loseNext && !lose
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
	base := deployNeededActions(t)
	type variant struct {
		name   string
		params map[string]any
		tags   bool // oss:PutObjectTagging: objects written whole are tagged
		kms    bool // kms:* on the customer key
	}
	variants := []variant{
		{"prefix=kafka/", map[string]any{"Prefix": "kafka/"}, false, false},
		{"prefix=", map[string]any{"Prefix": ""}, false, false},
		{"finalize", map[string]any{"Prefix": "kafka/", "Finalize": "true", "StorageClass": "ColdArchive"}, true, false},
		{"parquet", map[string]any{"Prefix": "kafka/", "Format": "parquet"}, true, false},
		{"finalize+kms-key", map[string]any{"Prefix": "", "Finalize": "true", "SSE": "KMS", "SSEKmsKeyId": "key-sample"}, true, true},
		{"kms-default-key", map[string]any{"Prefix": "", "SSE": "KMS"}, false, false},
	}
	for _, v := range variants {
		prefix := v.params["Prefix"].(string)
		need := base
		if v.tags {
			need = slices.Sorted(slices.Values(append(slices.Clone(base), deployTagAction)))
		}
		t.Run(v.name, func(t *testing.T) {
			params := map[string]any{"Bucket": "sample-bucket"}
			maps.Copy(params, v.params)
			ros := deployResolveROS(t, deployLoadROS(t), params)
			_, role := ros.resource("ALIYUN::RAM::Role")
			trust := deployNormalize(role["AssumeRolePolicyDocument"]).(map[string]any)
			stmts, _ := trust["Statement"].([]any)
			if len(stmts) != 1 || !reflect.DeepEqual(stmts[0], map[string]any{
				"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": map[string]any{"Service": []any{"fc.aliyuncs.com"}}}) {
				t.Errorf("role trust policy %s: want Function Compute (fc.aliyuncs.com) alone", deployJSON(trust))
			}

			objectRes := "acs:oss:*:" + deployAccount + ":sample-bucket/" + prefix + "*"
			bucketRes := "acs:oss:*:" + deployAccount + ":sample-bucket"
			repl := strings.NewReplacer("{region}", "cn-hangzhou", "{account}", deployAccount,
				"{project}", "sample-logs", "{logstore}", "kafka-oss-sink", "{key}", "key-sample")
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
						case deployKMSActions[a] && !v.kms:
							t.Errorf("action %q granted without a customer KMS key", a)
							continue
						case deployOtherActions[a] != "":
							want = []string{repl.Replace(deployOtherActions[a])}
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
			for a := range deployKMSActions {
				if v.kms && !granted[a] {
					t.Errorf("a customer KMS key is set, but the role is not allowed %s on it", a)
				}
			}
			if v.name != "prefix=kafka/" && v.name != "prefix=" {
				return // (the sample run below is the same for every variant)
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
