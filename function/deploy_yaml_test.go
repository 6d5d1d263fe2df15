package main

// s.yaml and template.yaml: the same function, environment and trigger,
// with values the sink and the services accept.

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/fcpack"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

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
		timeout, _ := deployInt(props["timeout"])
		if timeout < 60 || timeout > 86400 {
			t.Errorf("%s: timeout %v s: want a minute or more (32 MB batches, OSS retries) and at most a day", file, props["timeout"])
		}
		if c, _ := deployInt(props["instanceConcurrency"]); c < 1 || c > 200 {
			t.Errorf("%s: instanceConcurrency %v", file, props["instanceConcurrency"])
		}
		if m, _ := deployInt(props["memorySize"]); m < 512 || m%64 != 0 {
			t.Errorf("%s: memorySize %v MB: want a multiple of 64, room for a 32 MB batch", file, props["memorySize"])
		}
		lc, _ := props["instanceLifecycleConfig"].(map[string]any)
		for _, hook := range []string{"initializer", "preStop"} {
			h, _ := lc[hook].(map[string]any)
			ht, _ := deployInt(h["timeout"])
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
	// The archive settings: every class with SINK_FINALIZE=true; without
	// it, the classes appendable objects cannot have are refused, with
	// the reason (the template cannot forbid the combination itself).
	archive := map[string]string{"Finalize": config.EnvFinalize, "StorageClass": config.EnvStorageClass, "SSE": config.EnvSSE}
	for param, env := range archive {
		allowed, _ := params[param].(map[string]any)["AllowedValues"].([]any)
		if len(allowed) == 0 {
			t.Errorf("template.yaml %s: no AllowedValues", param)
		}
		for _, v := range allowed {
			for _, finalize := range []string{"true", "false"} {
				_, err := config.FromEnv(func(k string) string {
					return map[string]string{env: fmt.Sprint(v), config.EnvFinalize: finalize}[k]
				})
				refused := finalize == "false" && (v == "ColdArchive" || v == "DeepColdArchive") && param == "StorageClass"
				if (err != nil) != refused || refused && !strings.Contains(err.Error(), "appendable objects") {
					t.Errorf("template.yaml %s allows %v (SINK_FINALIZE=%s): %v", param, v, finalize, err)
				}
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
	_, rt := ros.trigger("eventbridge")
	st := deploySTrigger(t, s, "eventbridge")
	if fn := rt["FunctionName"]; fn != ros.getAtt(fnName, "FunctionName") {
		t.Errorf("template.yaml: the trigger's FunctionName is %v, want the function's", fn)
	}
	rosTrigger := map[string]any{"triggerName": rt["TriggerName"], "triggerType": rt["TriggerType"], "qualifier": rt["Qualifier"], "triggerConfig": rt["TriggerConfig"]}
	if a, b := deployDropEmpty(deployNormalize(st)), deployDropEmpty(deployNormalize(rosTrigger)); !reflect.DeepEqual(a, b) {
		t.Errorf("trigger differs:\ns.yaml        %s\ntemplate.yaml %s", deployJSON(a), deployJSON(b))
	}

	for file, tr := range map[string]map[string]any{"s.yaml": st, "template.yaml": rosTrigger} {
		deployCheckTrigger(t, file, deployNormalize(tr).(map[string]any))
	}

	// The optional dead-letter queue: absent (or empty) by default, set
	// when given, in both files.
	const arn = "acs:mns:cn-hangzhou:1:/queues/dlq"
	for file, run := range map[string]map[string]any{
		"s.yaml":        deployRunOptions(deploySTrigger(t, deployResolveS(t, deployLoadS(t), map[string]any{"deadLetterQueueArn": arn}), "eventbridge")),
		"template.yaml": deployRunOptions(deployROSTrigger(deployResolveROS(t, deployLoadROS(t), map[string]any{"DeadLetterQueueArn": arn}))),
	} {
		if dlq, _ := run["deadLetterQueue"].(map[string]any); dlq["Arn"] != arn {
			t.Errorf("%s with the dead-letter queue set: deadLetterQueue %v", file, run["deadLetterQueue"])
		}
	}
	for file, run := range map[string]map[string]any{"s.yaml": deployRunOptions(st), "template.yaml": deployRunOptions(rosTrigger)} {
		if dlq := deployDropEmpty(deployNormalize(run)).(map[string]any)["deadLetterQueue"]; dlq != nil {
			t.Errorf("%s by default: deadLetterQueue %v, want none", file, dlq)
		}
	}
}

// deployROSTrigger is template.yaml's Kafka trigger in s.yaml's shape.
func deployROSTrigger(r *deployROS) map[string]any {
	_, rt := r.trigger("eventbridge")
	return map[string]any{"triggerName": rt["TriggerName"], "triggerType": rt["TriggerType"], "qualifier": rt["Qualifier"], "triggerConfig": rt["TriggerConfig"]}
}

func deployRunOptions(tr map[string]any) map[string]any {
	run, _ := tr["triggerConfig"].(map[string]any)["runOptions"].(map[string]any)
	return run
}

func deployKafkaParams(tr map[string]any) map[string]any {
	cfg := tr["triggerConfig"].(map[string]any)["eventSourceConfig"].(map[string]any)
	return cfg["eventSourceParameters"].(map[string]any)["sourceKafkaParameters"].(map[string]any)
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
	oneOf(kafka+"Network", "Default", "PublicNetwork")
	oneOf(kafka+"ValueDataType", "Text", "Json", "Binary")
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
