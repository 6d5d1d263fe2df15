package main

// The trigger's network and value data format, the tunables of s.yaml,
// the attributes template.yaml reads, and the alarm on failed invocations.

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
)

// TestDeployNetwork: the trigger reaches Kafka through the instance's own
// network by default, needing no VPC fields; PublicNetwork takes them,
// and template.yaml refuses it without them.
func TestDeployNetwork(t *testing.T) {
	vpc := map[string]string{"VpcId": "vpc-sample", "VSwitchIds": "vsw-sample", "SecurityGroupId": "sg-sample"}
	for _, tc := range []struct {
		name    string
		s, ros  map[string]any
		network string
		vpc     bool     // the VPC fields reach the trigger
		refused []string // template.yaml's failed rules
	}{
		{"default", nil, nil, "Default", false, nil},
		{"public network", map[string]any{"network": "PublicNetwork", "vpcId": "vpc-sample", "vSwitchIds": "vsw-sample", "securityGroupId": "sg-sample"},
			map[string]any{"KafkaNetwork": "PublicNetwork", "VpcId": "vpc-sample", "VSwitchIds": "vsw-sample", "SecurityGroupId": "sg-sample"}, "PublicNetwork", true, nil},
		{"public network without a vpc", map[string]any{"network": "PublicNetwork"}, map[string]any{"KafkaNetwork": "PublicNetwork"}, "PublicNetwork", false,
			[]string{"KafkaNetwork PublicNetwork needs SecurityGroupId.", "KafkaNetwork PublicNetwork needs VSwitchIds.", "KafkaNetwork PublicNetwork needs VpcId."}},
		{"vpc fields on the default network", map[string]any{"vpcId": "vpc-sample"}, map[string]any{"VpcId": "vpc-sample"}, "Default", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ros := deployResolveROS(t, deployLoadROS(t), tc.ros)
			if got := ros.rules(); !slices.Equal(got, tc.refused) {
				t.Errorf("template.yaml refuses %q, want %q", got, tc.refused)
			}
			st := deploySTrigger(t, deployResolveS(t, deployLoadS(t), tc.s), "eventbridge")
			rt := deployROSTrigger(ros)
			for file, kafka := range map[string]map[string]any{"s.yaml": deployKafkaParams(st), "template.yaml": deployKafkaParams(rt)} {
				if kafka["Network"] != tc.network {
					t.Errorf("%s: Network %v, want %s", file, kafka["Network"], tc.network)
				}
				for k, v := range vpc {
					if got := fmt.Sprint(kafka[k]); (got == v) != tc.vpc && (file == "template.yaml" || tc.vpc) {
						t.Errorf("%s: %s = %q with network %s", file, k, got, tc.network)
					}
				}
			}
			if tc.refused == nil && tc.vpc {
				if a, b := deployDropEmpty(deployNormalize(st)), deployDropEmpty(deployNormalize(rt)); !reflect.DeepEqual(a, b) {
					t.Errorf("trigger differs:\ns.yaml        %s\ntemplate.yaml %s", deployJSON(a), deployJSON(b))
				}
			}
		})
	}
}

// TestDeployValueDataType: the trigger's value data format and
// SINK_VALUE_ENCODING go in pairs (Binary with base64, Text and Json with
// text); both files deploy a consistent pair by default and when both are
// set, and template.yaml refuses the others.
func TestDeployValueDataType(t *testing.T) {
	consistent := func(dataType, enc string) bool { return (dataType == "Binary") == (enc == "base64") }
	ros := deployLoadROS(t)["Parameters"].(map[string]any)
	types, _ := ros["ValueDataType"].(map[string]any)["AllowedValues"].([]any)
	encs, _ := ros["ValueEncoding"].(map[string]any)["AllowedValues"].([]any)
	if len(types) != 3 || len(encs) != 2 {
		t.Fatalf("template.yaml offers data formats %v and encodings %v", types, encs)
	}
	for _, dt := range types {
		for _, enc := range encs {
			dt, enc := fmt.Sprint(dt), fmt.Sprint(enc)
			r := deployResolveROS(t, deployLoadROS(t), map[string]any{"ValueDataType": dt, "ValueEncoding": enc})
			if refused := len(r.rules()) > 0; refused == consistent(dt, enc) {
				t.Errorf("template.yaml with ValueDataType %s, ValueEncoding %s: refused %v", dt, enc, r.rules())
			}
			if !consistent(dt, enc) {
				continue
			}
			s := deployResolveS(t, deployLoadS(t), map[string]any{"valueDataType": dt, "valueEncoding": enc})
			for file, pair := range deployValuePairs(t, s, r) {
				if pair[0] != dt || pair[1] != enc {
					t.Errorf("%s deploys ValueDataType %v with %s=%v, want %s with %s", file, pair[0], config.EnvValueEncoding, pair[1], dt, enc)
				}
			}
		}
	}
	// The defaults are a consistent pair in both files.
	for file, pair := range deployValuePairs(t, deployResolveS(t, deployLoadS(t), nil), deployResolveROS(t, deployLoadROS(t), nil)) {
		if !consistent(fmt.Sprint(pair[0]), fmt.Sprint(pair[1])) {
			t.Errorf("%s: default ValueDataType %v with %s=%v", file, pair[0], config.EnvValueEncoding, pair[1])
		}
	}
}

// deployValuePairs returns, per file, the trigger's ValueDataType and the
// function's SINK_VALUE_ENCODING that it deploys.
func deployValuePairs(t *testing.T, s map[string]any, r *deployROS) map[string][2]any {
	_, fn := r.resource("ALIYUN::FC3::Function")
	return map[string][2]any{
		"s.yaml":        {deployKafkaParams(deploySTrigger(t, s, "eventbridge"))["ValueDataType"], s["environmentVariables"].(map[string]any)[config.EnvValueEncoding]},
		"template.yaml": {deployKafkaParams(deployROSTrigger(r))["ValueDataType"], fn["EnvironmentVariables"].(map[string]any)[config.EnvValueEncoding]},
	}
}

// TestDeploySFromEnvironment: every variable of s.yaml comes from the
// environment of `s deploy` (no literal to edit), each from its own
// variable, and the function's settings from the very variables the
// function reads, so that a shell that ran `function invoke` deploys
// what it tried.
func TestDeploySFromEnvironment(t *testing.T) {
	doc := deployLoadS(t)
	vars := doc["vars"].(map[string]any)
	envOf := map[string]string{}
	seen := map[string]string{}
	rosParams := deployLoadROS(t)["Parameters"].(map[string]any)
	rosOf := map[string]string{}
	for _, v := range deployVars {
		rosOf[v.sVar] = v.rosParam
	}
	for name, v := range vars {
		s, _ := v.(string)
		ref, ok := deployParseSEnv(s)
		if !ok {
			t.Errorf("s.yaml vars.%s = %v: want ${env('NAME', 'default')}, overridable at s deploy time", name, v)
			continue
		}
		if other, dup := seen[ref.name]; dup {
			t.Errorf("s.yaml vars.%s and vars.%s both read %s", name, other, ref.name)
		}
		seen[ref.name], envOf[name] = name, ref.name
		// A number must reach the services as a number: FC refuses a
		// string for an integer (Serverless-Devs issue 874).
		p, _ := rosParams[rosOf[name]].(map[string]any)
		if number := p["Type"] == "Number"; number != ref.json {
			t.Errorf("s.yaml vars.%s: json() %v, but template.yaml's %s is of type %v: numbers need ${json(env(...))}, strings plain env()", name, ref.json, rosOf[name], p["Type"])
		}
	}
	// The environment variables of the function, by the var they take.
	env := deploySProps(t, doc)["environmentVariables"].(map[string]any)
	renamed := map[string]string{config.EnvBucket: "SINK_BUCKET", config.EnvPrefix: "SINK_PREFIX"} // OSS_* of a shell may name a test bucket
	for k, v := range env {
		m := regexp.MustCompile(`^\$\{vars\.(\w+)\}$`).FindStringSubmatch(fmt.Sprint(v))
		if m == nil {
			if k != config.EnvEndpoint { // derived from the region
				t.Errorf("s.yaml sets %s to %v, not a variable", k, v)
			}
			continue
		}
		want := k
		if r, ok := renamed[k]; ok {
			want = r
		}
		if envOf[m[1]] != want {
			t.Errorf("s.yaml sets the function's %s from %s at deploy time, want %s", k, envOf[m[1]], want)
		}
	}
	// The README lists what to export.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range envOf {
		if !strings.Contains(string(readme), e) {
			t.Errorf("README does not mention %s (s.yaml vars.%s)", e, name)
		}
	}
}

// TestDeployGetAtt: every attribute template.yaml reads, in resources and
// outputs, is one its resource type documents (deployAttributes).
func TestDeployGetAtt(t *testing.T) {
	r := deployResolveROS(t, deployLoadROS(t), nil)
	n := 0
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if a, ok := v["Fn::GetAtt"].([]any); ok && len(v) == 1 {
				r.getAtt(fmt.Sprint(a[0]), fmt.Sprint(a[1]))
				n++
			}
			if s, ok := v["Fn::Sub"].(string); ok {
				for _, m := range deploySVarRef.FindAllStringSubmatch(s, -1) {
					if res, attr, ok := strings.Cut(m[1], "."); ok {
						r.getAtt(res, attr)
						n++
					}
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(r.doc["Resources"])
	walk(r.doc["Outputs"])
	if n < 5 {
		t.Fatalf("only %d Fn::GetAtt found", n)
	}
	outputs := r.resolve(r.doc["Outputs"]).(map[string]any)
	for _, name := range []string{"FunctionName", "FunctionArn", "RoleArn", "TriggerName", "ErrorsAlarmRuleId"} {
		if o, _ := outputs[name].(map[string]any); o["Value"] == nil {
			t.Errorf("template.yaml has no output %s", name)
		}
	}
}

// TestDeployErrorsAlarm: template.yaml alerts a contact group of the
// deployer's choice on failed invocations of this function.
func TestDeployErrorsAlarm(t *testing.T) {
	r := deployResolveROS(t, deployLoadROS(t), map[string]any{"AlarmContactGroup": "sink-oncall"})
	fnName, _ := r.resource("ALIYUN::FC3::Function")
	_, alarm := r.resource("ALIYUN::CMS::ResourceMetricRule")
	if p := r.doc["Parameters"].(map[string]any)["AlarmContactGroup"].(map[string]any); p["Default"] != nil {
		t.Errorf("AlarmContactGroup defaults to %v: the deployer must name who hears of failures", p["Default"])
	}
	// acs_fc FunctionFunctionErrors: invocations that returned an error
	// (CloudMonitor's Function Compute metrics), per function.
	if alarm["Namespace"] != "acs_fc" || alarm["MetricName"] != "FunctionFunctionErrors" {
		t.Errorf("alarm on %v %v, want acs_fc FunctionFunctionErrors", alarm["Namespace"], alarm["MetricName"])
	}
	res, _ := alarm["Resources"].([]any)
	if len(res) != 1 {
		t.Fatalf("alarm Resources %v, want the function", alarm["Resources"])
	}
	dims := res[0].(map[string]any)
	if dims["functionName"] != r.getAtt(fnName, "FunctionName") || dims["region"] != "cn-hangzhou" || dims["userId"] != deployAccount {
		t.Errorf("alarm dimensions %v, want this function in this region and account", dims)
	}
	if g, _ := alarm["ContactGroups"].([]any); !slices.Equal(g, []any{"sink-oncall"}) {
		t.Errorf("alarm ContactGroups %v, want the AlarmContactGroup parameter", alarm["ContactGroups"])
	}
	crit, _ := alarm["Escalations"].(map[string]any)["Critical"].(map[string]any)
	for _, k := range []string{"Statistics", "ComparisonOperator", "Threshold", "Times"} {
		if crit[k] == nil {
			t.Errorf("alarm Escalations.Critical has no %s", k)
		}
	}
	if th, _ := deployInt(crit["Threshold"]); crit["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || th != 1 {
		t.Errorf("alarm fires on %v %v: want one failed invocation or more", crit["ComparisonOperator"], crit["Threshold"])
	}
	if p, _ := deployInt(alarm["Period"]); p%60 != 0 || p == 0 || p > 300 {
		t.Errorf("alarm Period %v s: want a multiple of 60, at most 5 minutes", alarm["Period"])
	}
}
