package events

import (
	"errors"
	"fmt"
)

// MaxTopicLen is the longest topic name Kafka accepts.
const MaxTopicLen = 249

// ErrInvalidTopic is wrapped by CheckTopic's errors.
var ErrInvalidTopic = errors.New("not a Kafka topic name")

// CheckTopic reports whether name is a name Kafka can give a topic: 1 to
// 249 bytes of ASCII letters, digits, '.', '_' and '-', and not "." or "..".
// The sink uses the topic as a key segment, so anything else (a '/', a
// control character, an empty or dot segment) could make a key leave its
// prefix; such a record can only come from a malformed event.
func CheckTopic[T string | []byte](name T) error {
	n := len(name)
	if n == 0 || n > MaxTopicLen {
		return fmt.Errorf("%w: %d bytes (1 to %d allowed)", ErrInvalidTopic, n, MaxTopicLen)
	}
	if string(name) == "." || string(name) == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidTopic, string(name))
	}
	for i := 0; i < n; i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			shown := string(name)
			if len(shown) > 64 {
				shown = shown[:64] + "..."
			}
			return fmt.Errorf("%w: %q has %q at byte %d (only a-z, A-Z, 0-9, '.', '_' and '-' are allowed)", ErrInvalidTopic, shown, string(name[i:i+1]), i)
		}
	}
	return nil
}
