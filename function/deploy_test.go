package main

// Tests that keep the deployment files honest: the Makefile and pkg/fcpack
// build the same binary and package it as FC's go1 runtime needs; s.yaml
// (Serverless Devs) and template.yaml (ROS) set only variables the sink
// reads, with values it accepts, configure the Kafka trigger as the service
// requires and the same way; and the RAM role allows exactly the OSS actions
// the code calls, on the bucket and prefix only.

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
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
	"Get":       {"GetObject", []string{"oss:GetObject"}},
	"GetRange":  {"GetObject with Range; HeadObject for an empty range", []string{"oss:GetObject"}},
	"Stat":      {"HeadObject", []string{"oss:GetObject"}},
	"Put":       {"PutObject", []string{"oss:PutObject"}},
	"PutReader": {"PutObject with the body streamed", []string{"oss:PutObject"}},
	"Append":    {"AppendObject; HeadObject when a rejected append lacks the length", []string{"oss:GetObject", "oss:PutObject"}},
	"List":      {"ListObjectsV2", []string{"oss:ListObjects"}},
	"ListPage":  {"ListObjectsV2 with start-after and max-keys", []string{"oss:ListObjects"}},
	"Delete":    {"DeleteObject", []string{"oss:DeleteObject"}},
	// (sinkctl's: the engine never restores nor reads tags.)
	"Restore": {"RestoreObject", []string{"oss:RestoreObject"}},
	"Tags":    {"GetObjectTagging", []string{"oss:GetObjectTagging"}},
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
	"RestoreObjectDetail":   "oss:RestoreObject",
	"GetObjectTagging":      "oss:GetObjectTagging",
}

// deployBucketActions are granted on the bucket (acs:oss:*:{account}:{bucket}),
// limited by an oss:Prefix condition; every other OSS action on objects
// (acs:oss:*:{account}:{bucket}/{prefix}*).
var deployBucketActions = map[string]bool{"oss:ListObjects": true}

// deployOtherActions are the non-OSS actions the role may hold: the
// function's logs, on its logstore only.
var deployOtherActions = map[string]string{"log:PostLogStoreLogs": "acs:log:{region}:{account}:project/{project}/logstore/{logstore}",
	// SSE-KMS with a customer key (SINK_SSE_KMS_KEY_ID): on that key only,
	// and only when one is set (deployKMSActions).
	"kms:GenerateDataKey": "acs:kms:{region}:{account}:key/{key}",
	"kms:Decrypt":         "acs:kms:{region}:{account}:key/{key}"}

// deployKMSActions are granted only with a customer KMS key.
var deployKMSActions = map[string]bool{"kms:GenerateDataKey": true, "kms:Decrypt": true}

// deployTagAction is what tags on the PUT of objects written whole
// (SINK_FINALIZE=true, parquet) need besides oss:PutObject: OSS authorizes
// x-oss-tagging as oss:PutObjectTagging. No store method sends it alone.
const deployTagAction = "oss:PutObjectTagging"

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
	{"cpu", "Cpu", ""},
	{"memorySize", "MemorySize", ""},
	{"diskSize", "DiskSize", ""},
	{"timeout", "Timeout", ""},
	{"instanceConcurrency", "InstanceConcurrency", ""},
	{"format", "Format", ""},
	{"fields", "Fields", ""},
	{"compression", "Compression", ""},
	{"valueDataType", "ValueDataType", ""},
	{"valueEncoding", "ValueEncoding", ""},
	{"finalize", "Finalize", ""},
	{"storageClass", "StorageClass", ""},
	{"sse", "SSE", ""},
	{"sseKmsKeyId", "SSEKmsKeyId", ""},
	{"tags", "Tags", ""},
	{"flushBytes", "FlushBytes", ""},
	{"flushRecords", "FlushRecords", ""},
	{"flushInterval", "FlushInterval", ""},
	{"flushIdle", "FlushIdle", ""},
	{"sealIdleEvery", "SealIdleEvery", ""},
	{"folder", "Folder", ""},
	{"timezone", "Timezone", ""},
	{"invalid", "Invalid", ""},
	{"filter", "Filter", ""},
	{"logLevel", "LogLevel", ""},
	{"batchCount", "BatchCount", ""},
	{"batchTime", "BatchTime", ""},
	{"maximumTasks", "MaximumTasks", ""},
	{"concurrency", "Concurrency", ""},
	{"errorsTolerance", "ErrorsTolerance", ""},
	{"retryStrategy", "PushRetryStrategy", ""},
	{"maxRetryAttempts", "MaximumRetryAttempts", ""},
	{"maxEventAge", "MaximumEventAgeInSeconds", ""},
	{"deadLetterQueueArn", "DeadLetterQueueArn", ""},
	// The alarm is template.yaml's alone (README "Alarms" for s.yaml).
	{"", "AlarmContactGroup", "kafka-oss-sink-oncall"},
}

// deployAttributes are the Fn::GetAtt attributes each resource type of
// template.yaml documents (ROS resource reference, "Return values"; the
// same names as the ROS CDK's attr* getters): a GetAtt of anything else
// fails the stack at creation, which no resource-name check notices.
var deployAttributes = map[string][]string{
	"ALIYUN::FC3::Function":           {"ARN", "FunctionId", "FunctionName"},
	"ALIYUN::FC3::Trigger":            {"FunctionName", "TriggerId", "TriggerName", "UrlInternet", "UrlIntranet"},
	"ALIYUN::RAM::Role":               {"Arn", "RoleId", "RoleName"},
	"ALIYUN::CMS::ResourceMetricRule": {"RuleId", "RuleName"},
}

const deployAccount = "1234567890123456" // ALIYUN::AccountId

// ---------------------------------------------------------------------------
// Packaging.

// TestDeployPackage builds ./function as `make package` does and checks the
// archive the way FC's go1 runtime will use it.
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
	// ${env('NAME'[, 'default'])}, or ${json(env(...))} for a number:
	// env() gives a string, which FC refuses for an integer property
	// ("cannot unmarshal string into ... of type int32"); json() parses it.
	deploySEnv = regexp.MustCompile(`^\$\{(json\()?env\('([A-Z0-9_]+)'(?:,\s*'([^']*)')?\)(\)?)\}$`)
)

// deploySEnvRef is one s.yaml var read from the environment.
type deploySEnvRef struct {
	name, def  string
	hasDefault bool
	json       bool // the value is parsed as JSON (a number)
}

func deployParseSEnv(s string) (deploySEnvRef, bool) {
	m := deploySEnv.FindStringSubmatch(s)
	if m == nil || (m[1] == "") != (m[4] == "") {
		return deploySEnvRef{}, false
	}
	return deploySEnvRef{name: m[2], def: m[3], hasDefault: strings.Contains(s, ","), json: m[1] != ""}, true
}

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
		ref, ok := deployParseSEnv(s)
		switch {
		case !ok:
			t.Fatalf("s.yaml vars.%s = %q: want a literal, ${env('NAME'[, 'default'])} or ${json(env(...))}", name, s)
		case !ref.hasDefault:
			required[name] = true
		case ref.json:
			var v any
			if err := yaml.Unmarshal([]byte(ref.def), &v); err != nil {
				t.Fatalf("s.yaml vars.%s: default %q is not JSON: %v", name, ref.def, err)
			}
			values[name] = v
		default:
			values[name] = ref.def
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
	r.t.Helper()
	rr, ok := r.resources[res].(map[string]any)
	if !ok {
		r.t.Fatalf("template.yaml: Fn::GetAtt on unknown resource %s", res)
	}
	typ, _ := rr["Type"].(string)
	attrs, known := deployAttributes[typ]
	if !known {
		r.t.Fatalf("template.yaml: Fn::GetAtt [%s, %s]: the test knows no attributes of %s (add them from its ROS reference)", res, attr, typ)
	}
	if !slices.Contains(attrs, attr) {
		r.t.Errorf("template.yaml: Fn::GetAtt [%s, %s]: %s documents no attribute %s (only %v)", res, attr, typ, attr, attrs)
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
	return r.eval(name, c)
}

// rules evaluates template.yaml's Rules with the parameters and returns
// the descriptions of the assertions that fail: ROS refuses the stack
// with them.
func (r *deployROS) rules() []string {
	var failed []string
	rules, _ := r.doc["Rules"].(map[string]any)
	for name, rule := range rules {
		rule := rule.(map[string]any)
		if c, ok := rule["RuleCondition"]; ok && !r.eval(name, c) {
			continue
		}
		for _, a := range rule["Assertions"].([]any) {
			a := a.(map[string]any)
			if !r.eval(name, a["Assert"]) {
				failed = append(failed, fmt.Sprint(a["AssertDescription"]))
			}
		}
	}
	slices.Sort(failed)
	return failed
}

// eval evaluates a condition expression (Fn::Equals, Fn::Not, Fn::Or,
// Fn::And over Refs and literals) of the condition or rule name.
func (r *deployROS) eval(name string, c any) bool {
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
		if a, ok := m["Fn::Or"]; ok {
			for _, c := range a.([]any) {
				if eval(c) {
					return true
				}
			}
			return false
		}
		if a, ok := m["Fn::And"]; ok {
			for _, c := range a.([]any) {
				if !eval(c) {
					return false
				}
			}
			return true
		}
		r.t.Fatalf("template.yaml condition %s: unsupported %v", name, c)
		return false
	}
	return eval(c)
}

// deployInt reads a number of either file: ROS parameters are numbers,
// s.yaml's values from env() strings. ok is false when it is neither.
func deployInt(v any) (int, bool) {
	switch v := v.(type) {
	case int:
		return v, true
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	}
	return 0, false
}

// deployDropEmpty removes empty strings and the maps left empty by that
// from a normalized tree: s.yaml cannot leave a property out when its
// variable is empty (the VPC fields on the Default network, no dead-letter
// queue), template.yaml does (ALIYUN::NoValue); the services take an empty
// value as none.
func deployDropEmpty(n any) any {
	switch n := n.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range n {
			v = deployDropEmpty(v)
			if s, ok := v.(string); ok && s == "" {
				continue
			}
			if m, ok := v.(map[string]any); ok && len(m) == 0 {
				continue
			}
			out[k] = v
		}
		return out
	case []any:
		out := make([]any, len(n))
		for i, v := range n {
			out[i] = deployDropEmpty(v)
		}
		return out
	}
	return n
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
