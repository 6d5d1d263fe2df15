package sinkctl

import (
	"errors"
	"flag"
	"fmt"

	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/config"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/events"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/route"
	"github.com/kafka-oss-sink/kafka-oss-sink/pkg/sink"
)

// folderFlag is --folder, the sink's routing template, which says where
// verify and restore search for a partition's objects.
type folderFlag struct {
	template string
	fromEnv  bool // the value is SINK_FOLDER's (the flag was not given)
}

func (f *folderFlag) register(fs *flag.FlagSet, env Env) {
	f.template, f.fromEnv = route.DefaultTemplate, false
	if v := env.Getenv(config.EnvFolder); v != "" {
		f.template, f.fromEnv = v, true
	}
	fs.Func("folder", "the sink's routing template (SINK_FOLDER): its static leading directory is searched too, besides {topic}/ and invalidRuleData/{topic}/ (default $"+config.EnvFolder+", else "+route.DefaultTemplate+")",
		func(s string) error {
			f.template, f.fromEnv = s, false
			return nil
		})
}

// dirs returns, per topic-partition, the directory the template's folders
// all start with. The time zone does not matter: the static part of a
// template precedes its first time token.
func (f *folderFlag) dirs() (func(topic string, partition int32) []string, error) {
	rt, err := route.New(f.template, nil)
	if err != nil {
		var te *route.TemplateError
		switch {
		case f.fromEnv:
			return nil, fmt.Errorf("%v (from the environment; --folder overrides it)", err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("--folder %q: position %d: %s", f.template, te.Pos, te.Reason)
		}
		return nil, fmt.Errorf("--folder %q: %w", f.template, err)
	}
	return func(topic string, partition int32) []string { return []string{rt.StaticDir(topic, partition)} }, nil
}

// expected returns which records the sink stores under the settings in env
// (SINK_FILTER, SINK_INVALID=drop with this flag's template, SINK_TIMEZONE,
// read as the function reads them), or nil when it stores every record:
// verify does not call the others missing.
func (f *folderFlag) expected(env Env) (func(*events.Record) bool, error) {
	rt, inv, flt, err := config.Routing(func(k string) string {
		if k == config.EnvFolder {
			return f.template
		}
		return env.Getenv(k)
	})
	if err != nil {
		return nil, fmt.Errorf("%v (the sink's settings, from the environment)", err)
	}
	dropsUnroutable := inv == sink.InvalidDrop && rt != nil
	if flt == nil && !dropsUnroutable {
		return nil, nil
	}
	return func(r *events.Record) bool {
		if flt != nil && !flt.Keep(r) {
			return false
		}
		if dropsUnroutable {
			_, err := rt.AppendFolder(nil, r)
			return err == nil
		}
		return true
	}, nil
}
