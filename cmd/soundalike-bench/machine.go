package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// machineSample is a reading of how much CPU every other thread on the
// machine has run so far, from Linux's /proc (each thread's schedstat, in
// nanoseconds). A phase's two samples tell how much CPU the rest of the
// machine took beside the server and the client: on a small machine that
// time comes out of the client's latency.
type machineSample struct {
	run     map[string]time.Duration // by /proc/PID/task/TID
	kdamond map[string]bool          // the threads that are kdamond's
}

func sampleMachine() machineSample {
	s := machineSample{run: map[string]time.Duration{}, kdamond: map[string]bool{}}
	self := strconv.Itoa(os.Getpid())
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, proc := range procs {
		if filepath.Base(proc) == self {
			continue
		}
		comm, _ := os.ReadFile(filepath.Join(proc, "comm"))
		tasks, _ := filepath.Glob(filepath.Join(proc, "task", "[0-9]*"))
		for _, task := range tasks {
			b, err := os.ReadFile(filepath.Join(task, "schedstat"))
			if err != nil {
				continue // exited
			}
			ns, _, _ := strings.Cut(string(b), " ")
			if n, err := strconv.ParseInt(ns, 10, 64); err == nil {
				s.run[task] = time.Duration(n)
				s.kdamond[task] = bytes.HasPrefix(comm, []byte("kdamond"))
			}
		}
	}
	return s
}

// since returns the CPU time the machine's other threads ran from s0 to
// s, and the part of it that was kdamond's: DAMON, the kernel's memory
// access monitor. With its physical address operations, each sample
// interval it checks and clears the accessed bit of a page in every
// monitored region, thousands of reverse-map walks in a row, during which
// (on a kernel built without preemption) no other thread runs on its CPU.
// A thread that started and ended between the samples is not counted.
func (s machineSample) since(s0 machineSample) (other, kdamond time.Duration) {
	for task, t := range s.run {
		d := t - s0.run[task]
		other += d
		if s.kdamond[task] {
			kdamond += d
		}
	}
	return other, kdamond
}
