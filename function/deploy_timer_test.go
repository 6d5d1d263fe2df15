package main

// The timer trigger of idle sealing (SINK_FLUSH_IDLE): the same in s.yaml
// and template.yaml, a schedule FC accepts, and a payload the handler
// parses as a timer invocation of the Kafka trigger's topic.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/handler"
)

// trigger returns the one ALIYUN::FC3::Trigger of TriggerType typ, resolved.
func (r *deployROS) trigger(typ string) (string, map[string]any) {
	r.t.Helper()
	var names []string
	for name, res := range r.resources {
		res := res.(map[string]any)
		if props, _ := res["Properties"].(map[string]any); res["Type"] == "ALIYUN::FC3::Trigger" && props["TriggerType"] == typ {
			names = append(names, name)
		}
	}
	if len(names) != 1 {
		r.t.Fatalf("template.yaml has %d triggers of type %s, want 1", len(names), typ)
	}
	return names[0], r.resolve(r.resources[names[0]].(map[string]any)["Properties"]).(map[string]any)
}

// deploySTrigger returns s.yaml's one trigger of triggerType typ.
func deploySTrigger(t *testing.T, props map[string]any, typ string) map[string]any {
	t.Helper()
	triggers, _ := props["triggers"].([]any)
	var found []map[string]any
	for _, tr := range triggers {
		if tr := tr.(map[string]any); tr["triggerType"] == typ {
			found = append(found, tr)
		}
	}
	if len(found) != 1 {
		t.Fatalf("s.yaml has %d triggers of type %s, want 1", len(found), typ)
	}
	return found[0]
}

func TestDeployTriggersAreKnown(t *testing.T) {
	s := deployResolveS(t, deployLoadS(t), nil)
	triggers, _ := s["triggers"].([]any)
	var types []string
	for _, tr := range triggers {
		types = append(types, fmt.Sprint(tr.(map[string]any)["triggerType"]))
	}
	if slices.Sort(types); !slices.Equal(types, []string{"eventbridge", "timer"}) {
		t.Errorf("s.yaml triggers %v, want the Kafka trigger and the idle-sealing timer", types)
	}
	ros := deployResolveROS(t, deployLoadROS(t), nil)
	n := 0
	for _, res := range ros.resources {
		if res.(map[string]any)["Type"] == "ALIYUN::FC3::Trigger" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("template.yaml has %d triggers, want the Kafka trigger and the idle-sealing timer", n)
	}
}

var deployEvery = regexp.MustCompile(`^@every ([0-9]+)m$`)

func TestDeployTimerTrigger(t *testing.T) {
	for _, topic := range []string{"orders", "app.events-2"} {
		s := deployResolveS(t, deployLoadS(t), map[string]any{"topic": topic})
		ros := deployResolveROS(t, deployLoadROS(t), map[string]any{"Topic": topic})
		fnName, _ := ros.resource("ALIYUN::FC3::Function")
		_, rt := ros.trigger("timer")
		if fn := rt["FunctionName"]; fn != ros.getAtt(fnName, "FunctionName") {
			t.Errorf("template.yaml: the timer's FunctionName is %v, want the function's", fn)
		}
		st := deploySTrigger(t, s, "timer")
		rosTrigger := map[string]any{"triggerName": rt["TriggerName"], "triggerType": rt["TriggerType"], "qualifier": rt["Qualifier"], "triggerConfig": rt["TriggerConfig"]}
		if a, b := deployNormalize(st), deployNormalize(rosTrigger); !reflect.DeepEqual(a, b) {
			t.Errorf("timer trigger differs:\ns.yaml        %s\ntemplate.yaml %s", deployJSON(a), deployJSON(b))
		}
		kafka := deployNormalize(deploySTrigger(t, s, "eventbridge")).(map[string]any)
		kafkaTopic := kafka["triggerConfig"].(map[string]any)["eventSourceConfig"].(map[string]any)["eventSourceParameters"].(map[string]any)["sourceKafkaParameters"].(map[string]any)["Topic"]
		for file, tr := range map[string]map[string]any{"s.yaml": st, "template.yaml": rosTrigger} {
			tr := deployNormalize(tr).(map[string]any)
			cfg, _ := tr["triggerConfig"].(map[string]any)
			if tr["qualifier"] != "LATEST" || cfg["enable"] != "true" {
				t.Errorf("%s: timer %v: want qualifier LATEST, enabled", file, tr)
			}
			// FC 3.0 TimerTriggerConfig: "@every Nm" or a cron expression;
			// a few minutes apart (idle sealing counts in minutes; each
			// run is an invocation, README "Idle sealing").
			m := deployEvery.FindStringSubmatch(fmt.Sprint(cfg["cronExpression"]))
			if m == nil {
				t.Errorf("%s: timer cronExpression %q, want @every Nm", file, cfg["cronExpression"])
			} else if n, _ := strconv.Atoi(m[1]); n < 1 || n > 15 {
				t.Errorf("%s: timer every %d minutes: want 1 to 15 (SINK_FLUSH_IDLE is at least %v)", file, n, time.Minute)
			}
			// The event FC sends: the payload is the trigger's, as a string.
			ev, _ := json.Marshal(handler.TimerEvent{TriggerTime: "2026-11-25T01:05:00Z", TriggerName: fmt.Sprint(tr["triggerName"]), Payload: fmt.Sprint(cfg["payload"])})
			tm, ok, err := handler.ParseTimer(ev)
			if !ok || err != nil {
				t.Errorf("%s: the handler does not take the timer's event %s for a timer invocation: %v %v", file, ev, ok, err)
				continue
			}
			if !slices.Equal(tm.Topics, []string{fmt.Sprint(kafkaTopic)}) || kafkaTopic != topic {
				t.Errorf("%s: the timer names topics %v, the Kafka trigger %v (deployed %q)", file, tm.Topics, kafkaTopic, topic)
			}
		}
	}
}

// TestDeployFlushIdleFlows: SINK_FLUSH_IDLE reaches the function from the
// variable of each file: off by default, set when given.
func TestDeployFlushIdleFlows(t *testing.T) {
	for _, v := range []string{"", "15m"} {
		s := deployResolveS(t, deployLoadS(t), map[string]any{"flushIdle": v})
		_, fn := deployResolveROS(t, deployLoadROS(t), map[string]any{"FlushIdle": v}).resource("ALIYUN::FC3::Function")
		for file, env := range map[string]any{"s.yaml": s["environmentVariables"], "template.yaml": fn["EnvironmentVariables"]} {
			vars := map[string]string{}
			for k, x := range env.(map[string]any) {
				vars[k] = fmt.Sprint(x)
			}
			if got, ok := vars[config.EnvFlushIdle]; !ok || got != v {
				t.Errorf("%s: %s = %q (set %v), want %q", file, config.EnvFlushIdle, got, ok, v)
			}
			cfg, err := config.FromEnv(func(k string) string { return vars[k] })
			want, _ := time.ParseDuration(v + map[bool]string{true: "0s"}[v == ""])
			if err != nil || cfg.FlushIdle != want {
				t.Errorf("%s with %q: FlushIdle %v, %v; want %v", file, v, cfg.FlushIdle, err, want)
			}
		}
	}
}
