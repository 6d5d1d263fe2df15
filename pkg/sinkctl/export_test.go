package sinkctl

import "github.com/kafka-oss-sink/kafka-oss-sink/pkg/store"

// WithStore returns env with st as the store of every command (see
// Env.store).
func WithStore(env Env, st store.Store) Env {
	env.store = st
	return env
}
