package intake

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// slogPrinter puts a library's Printf/Println log on slog: go-smtp's error
// log at warning, go-imap's client log at debug (its read errors follow a
// dropped connection, which Poll reports itself).
type slogPrinter struct {
	l      *slog.Logger
	level  slog.Level
	prefix string
}

func (p slogPrinter) Printf(format string, v ...any) {
	p.l.Log(context.Background(), p.level, p.prefix+fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...any) {
	p.l.Log(context.Background(), p.level, p.prefix+strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
