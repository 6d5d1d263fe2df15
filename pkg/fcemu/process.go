package fcemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StartProcess starts cmd as a new instance: it adds FC_RUNTIME_API (the
// instance's address) to cmd.Env (os.Environ() if cmd.Env is nil), and
// FC_FUNCTION_MEMORY_SIZE (the memory in MB, WithFunction) unless cmd.Env
// sets it, as FC sets both in every instance's environment; it starts
// it, and loses the instance as soon as the process exits, so calls in
// flight end with StatusLost instead of waiting for their deadlines. The
// emulator owns the process: Instance.Close and Emulator.Close kill it.
func (e *Emulator) StartProcess(cmd *exec.Cmd) (*Instance, error) {
	i, err := e.NewInstance()
	if err != nil {
		return nil, err
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = make([]string, 0, len(env)+2)
	memSet := false
	for _, kv := range env {
		memSet = memSet || strings.HasPrefix(kv, "FC_FUNCTION_MEMORY_SIZE=")
		if !strings.HasPrefix(kv, "FC_RUNTIME_API=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if !memSet {
		cmd.Env = append(cmd.Env, "FC_FUNCTION_MEMORY_SIZE="+strconv.Itoa(e.cfg.memoryMB))
	}
	cmd.Env = append(cmd.Env, "FC_RUNTIME_API="+i.Addr())
	i.cmd, i.exited = cmd, make(chan struct{})
	if err := cmd.Start(); err != nil {
		i.cmd = nil
		_ = i.Close()
		return nil, fmt.Errorf("fcemu: start %s: %w", cmd.Path, err)
	}
	go func() {
		err := cmd.Wait()
		i.exitErr = err
		close(i.exited)
		if err == nil {
			err = errors.New("exit status 0")
		}
		i.Lose(fmt.Errorf("process %d exited: %w", cmd.Process.Pid, err))
	}()
	return i, nil
}

// Process returns the process StartProcess started, or nil.
func (i *Instance) Process() *os.Process {
	if i.cmd == nil {
		return nil
	}
	return i.cmd.Process
}

// Exited is closed when the process StartProcess started has exited and
// been waited for; nil for an instance without one.
func (i *Instance) Exited() <-chan struct{} { return i.exited }

// ExitErr returns cmd.Wait's error once Exited is closed.
func (i *Instance) ExitErr() error {
	<-i.exited
	return i.exitErr
}

// Kill sends SIGKILL to the process StartProcess started and waits until it
// has exited (and the instance is lost).
func (i *Instance) Kill() error {
	if i.cmd == nil {
		return errors.New("fcemu: the instance has no process of its own")
	}
	if err := i.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("fcemu: kill %d: %w", i.cmd.Process.Pid, err)
	}
	<-i.exited
	<-i.gone
	return nil
}

// Supervisor keeps one instance of the function running: when its process
// exits (killed, crashed), it starts a new one with a fresh instance, as FC
// replaces a dead instance.
type Supervisor struct {
	emu    *Emulator
	newCmd func() *exec.Cmd
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	// started, if set (tests only), is called from the supervisor's
	// goroutine at the first point after it started a replacement: where a
	// loaded scheduler may leave it while the new process already takes
	// work. Current and Starts must show the replacement there.
	started func(*Supervisor, *Instance)

	mu     sync.Mutex
	cur    *Instance
	starts int
	err    error
}

// restartPause is how long the supervisor waits before replacing a dead
// process, so that a function that cannot start does not spin.
const restartPause = 10 * time.Millisecond

// Supervise starts a process made by newCmd (through StartProcess) and
// keeps replacing it until Stop. newCmd must return a new, unstarted
// command each time.
func (e *Emulator) Supervise(newCmd func() *exec.Cmd) (*Supervisor, error) {
	return e.supervise(newCmd, nil)
}

func (e *Emulator) supervise(newCmd func() *exec.Cmd, started func(*Supervisor, *Instance)) (*Supervisor, error) {
	inst, err := e.StartProcess(newCmd())
	if err != nil {
		return nil, err
	}
	s := &Supervisor{emu: e, newCmd: newCmd, started: started, stop: make(chan struct{}), done: make(chan struct{}), cur: inst, starts: 1}
	go s.loop()
	return s, nil
}

func (s *Supervisor) loop() {
	defer close(s.done)
	for {
		cur := s.Current()
		select {
		case <-cur.Exited():
		case <-s.stop:
			return
		}
		_ = cur.Close() // its process is gone: free the listener
		select {
		case <-time.After(restartPause):
		case <-s.stop:
			return
		}
		cmd := s.newCmd() // user code: not under s.mu, it may call Current
		// Start and account in one step under s.mu: the process can take
		// work as soon as it runs, and whoever saw that work and then asks
		// Current or Starts must find it there, not the dead instance.
		s.mu.Lock()
		inst, err := s.emu.StartProcess(cmd)
		if err != nil {
			s.err = err
			s.mu.Unlock()
			return
		}
		s.cur = inst
		s.starts++
		s.mu.Unlock()
		if s.started != nil {
			s.started(s, inst)
		}
	}
}

// Current returns the instance running now, or the last one if it died and
// its replacement has not started yet. A replacement is Current, and
// counted by Starts, before its process can take work: once an invocation
// was answered by a supervised instance, Current returns that instance or a
// later one.
func (s *Supervisor) Current() *Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Starts returns how many processes were started (see Current for when a
// start counts).
func (s *Supervisor) Starts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts
}

// Err returns why the supervisor stopped replacing processes (a start
// failed), or nil.
func (s *Supervisor) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Stop stops replacing processes and closes (kills) the current one.
func (s *Supervisor) Stop() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	return s.Current().Close()
}
