package scheduler

import (
	"log/slog"
)

// cronLogger hands cron's log lines to slog, so the chain wrappers' skips
// and recovered panics are never discarded. onSkip lets the scheduler count
// the runs that SkipIfStillRunning dropped.
type cronLogger struct {
	log    *slog.Logger
	onSkip func()
}

// Info logs cron's informational lines; "skip" is SkipIfStillRunning
// dropping a run because the previous one is still going.
func (l cronLogger) Info(msg string, keysAndValues ...any) {
	if msg == "skip" {
		l.log.Warn("job_skipped_still_running", keysAndValues...)
		if l.onSkip != nil {
			l.onSkip()
		}
		return
	}
	l.log.Info("cron_"+msg, keysAndValues...)
}

// Error logs cron's errors; "panic" is Recover catching a job's panic, with
// its stack as an attribute.
func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	if msg == "panic" {
		msg = "job_panic"
	} else {
		msg = "cron_" + msg
	}
	l.log.Error(msg, append([]any{"err", err}, keysAndValues...)...)
}
